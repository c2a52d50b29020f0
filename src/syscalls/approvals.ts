/** approvals, approve, deny: the decisions processes wait for. */
import { z } from 'zod';
import { decideApproval, listApprovals } from '../process/approvals.js';
import { pidSchema } from './schemas.js';
import { type Caller, defineSyscall } from './syscall.js';

export const approvalSchema = z.object({
  id: z.number().int(),
  pid: z.number().int(),
  question: z.string(),
  requestedAt: z.string(),
  decision: z.enum(['approved', 'denied']).nullable(),
  reason: z.string().nullable(),
  decidedBy: z.string().nullable(),
  decidedAt: z.string().nullable(),
});

export const approvalsSyscall = defineSyscall({
  name: 'approvals',
  summary: 'List approvals processes are waiting for (--all: decided ones too)',
  input: z
    .object({
      all: z.boolean().default(false).describe('include decided approvals and those of exited processes'),
      pid: pidSchema.optional().describe('only this process’s'),
    })
    .strict(),
  output: z.array(approvalSchema),
  cli: {
    positional: [],
    examples: ['aos approvals', 'aos approvals --pid 12 --json', 'aos approvals --all'],
  },
  capability: 'approval.list',
  readOnly: true,
  errors: ['invalid_input'],
  async handler(context, input) {
    return listApprovals(context.db, input);
  },
});

const decisionInput = z
  .object({
    pid: pidSchema.describe('the process that asked'),
    id: z.coerce.number().int().positive().describe('the approval (see aos approvals)'),
    reason: z.string().optional().describe('why: the process sees it with the decision'),
  })
  .strict();

function actorOf(caller: Caller): string {
  return caller.kind === 'process' ? `process:${caller.pid}` : 'user:local';
}

export const approveSyscall = defineSyscall({
  name: 'approve',
  summary: 'Approve what a process asked for; it resumes with the decision',
  input: decisionInput,
  output: approvalSchema,
  cli: {
    positional: ['pid', 'id'],
    examples: ['aos approve 12 3', 'aos approve 12 3 --reason "checked the diff" --json'],
  },
  sql: 'aos.approve',
  capability: 'approval.decide',
  errors: ['invalid_input', 'not_found', 'conflict'],
  async handler(context, input, caller) {
    const approval = await decideApproval(context.db, { ...input, approved: true, actor: actorOf(caller) });
    context.poke();
    return approval;
  },
});

export const denySyscall = defineSyscall({
  name: 'deny',
  summary: 'Deny what a process asked for; it resumes with the denial and the reason',
  input: decisionInput,
  output: approvalSchema,
  cli: {
    positional: ['pid', 'id'],
    examples: ['aos deny 12 3 --reason "not on a Friday"', 'aos deny 12 3 --json'],
  },
  sql: 'aos.deny',
  capability: 'approval.decide',
  errors: ['invalid_input', 'not_found', 'conflict'],
  async handler(context, input, caller) {
    const approval = await decideApproval(context.db, { ...input, approved: false, actor: actorOf(caller) });
    context.poke();
    return approval;
  },
});
