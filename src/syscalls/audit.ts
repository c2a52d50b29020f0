/** audit verify, audit show, audit checkpoint: the tamper-evident log. */
import { z } from 'zod';
import { drainAudit, listAudit } from '../trust/audit.js';
import { checkpointConfigOf, writeCheckpoint } from '../trust/audit-checkpoints.js';
import { verifyAudit } from '../trust/verify-audit.js';
import { pidSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

export const auditEntrySchema = z.object({
  id: z.number().int(),
  at: z.string(),
  kind: z.string(),
  pid: z.number().int().nullable(),
  actor: z.string(),
  data: z.unknown(),
  hash: z.string(),
});

export const auditFilterSchema = z
  .object({
    pid: pidSchema.optional().describe('only entries about this process'),
    kind: z.string().optional().describe('only this kind: syscall, model-call, tool-call, signal, exit'),
    since: z.iso.datetime({ offset: true }).optional().describe('ISO time, inclusive'),
    until: z.iso.datetime({ offset: true }).optional().describe('ISO time, inclusive'),
    limit: z.coerce.number().int().positive().max(100_000).default(100).describe('at most this many entries'),
  })
  .strict();

export const auditShowSyscall = defineSyscall({
  name: 'audit show',
  summary: 'Show audit entries, oldest first, filtered by process, kind and time (chains pending ones first)',
  input: auditFilterSchema,
  output: z.array(auditEntrySchema),
  cli: {
    positional: [],
    examples: [
      'aos audit show',
      'aos audit show --pid 12 --kind tool-call',
      'aos audit show --since 2026-11-24T00:00:00Z --json',
    ],
  },
  capability: 'audit.read',
  readOnly: true,
  errors: ['invalid_input'],
  async handler(context, input) {
    await drainAudit(context.db);
    return listAudit(context.db, input);
  },
});

export const auditVerifySyscall = defineSyscall({
  name: 'audit verify',
  summary:
    'Chain pending entries, recompute the hash chain and check the signed checkpoints; report the first bad entry and why',
  input: z.object({}).strict(),
  output: z.object({
    ok: z.boolean(),
    entries: z.number().int(),
    head: z.object({ id: z.number().int(), hash: z.string() }),
    firstBad: z
      .object({
        id: z.number().int(),
        reason: z.string(),
        pid: z.number().int().nullable().optional().describe('the process whose data differs from the log'),
      })
      .optional(),
    checkpoints: z.object({
      checked: z.number().int(),
      latestId: z.number().int().nullable(),
      otherDatabases: z.number().int().describe('checkpoints of other databases in the same store, ignored'),
    }),
    covered: z
      .boolean()
      .describe('whether a signed checkpoint covers the head; when false the log is intact but unverified'),
    content: z
      .object({ checked: z.number().int() })
      .describe('entries whose digests were recomputed from the journal and process rows they describe'),
    unchained: z
      .number()
      .int()
      .describe(
        'entries committed but not yet chained when the check ended: not covered, not yet tamper-evident',
      ),
  }),
  cli: { positional: [], examples: ['aos audit verify', 'aos audit verify --json'] },
  capability: 'audit.read',
  readOnly: true,
  errors: ['conflict'],
  async handler(context) {
    return verifyAudit(context.db, await checkpointConfigOf(context.db, context.home));
  },
});

export const auditCheckpointSyscall = defineSyscall({
  name: 'audit checkpoint',
  summary: 'Chain pending entries, sign the chain head with the audit key and store it outside the database',
  input: z.object({}).strict(),
  output: z
    .object({
      id: z.number().int(),
      hash: z.string(),
      at: z.string(),
      database: z.string().optional(),
      signature: z.string(),
    })
    .nullable(),
  cli: {
    positional: [],
    examples: ['aos audit checkpoint', 'AOS_AUDIT_CHECKPOINTS=/mnt/worm/aos.jsonl aos audit checkpoint'],
  },
  capability: 'audit.checkpoint',
  errors: ['unavailable', 'invalid_input'],
  async handler(context) {
    return (await writeCheckpoint(context.db, await checkpointConfigOf(context.db, context.home))) ?? null;
  },
});
