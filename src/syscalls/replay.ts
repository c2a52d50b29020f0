/** replay, fork: re-run a finished process from its journal; branch a process at a step. */
import { z } from 'zod';
import { forkProcess } from '../process/fork.js';
import { getProcessRow, toProcess } from '../process/process-table.js';
import { replayProcess } from '../trust/replay.js';
import { pidSchema, processSchema } from './schemas.js';
import { contentDigest, defineSyscall } from './syscall.js';

const endSchema = z.object({
  exitStatus: z.number().int().nullable(),
  result: z.unknown(),
  error: z.unknown(),
});

export const replaySyscall = defineSyscall({
  name: 'replay',
  summary:
    'Re-run a finished process from its journal, with no model or tool call, and check that every decision comes out the same',
  input: z.object({ pid: pidSchema.describe('a process that has exited') }).strict(),
  output: z.object({
    pid: z.number().int(),
    identical: z.boolean(),
    operations: z.number().int(),
    modelCalls: z.number().int(),
    requestsCompared: z.number().int(),
    differences: z.array(z.object({ op: z.number().int().nullable(), what: z.string() })),
    recorded: endSchema,
    replayed: endSchema.nullable(),
  }),
  cli: { positional: ['pid'], examples: ['aos replay 12', 'aos replay 12 --json'] },
  capability: 'process.replay',
  readOnly: true,
  errors: ['not_found', 'conflict'],
  async handler(context, input) {
    return replayProcess(context, input.pid);
  },
});

export const forkSyscall = defineSyscall({
  name: 'fork',
  summary:
    'Start a new process that shares the steps of a process before step --at and runs live from there (optionally with another --model or --prompt)',
  input: z
    .object({
      pid: pidSchema.describe('the process to branch'),
      at: z.coerce
        .number()
        .int()
        .positive()
        .describe('the step to branch at (a model call, tool call or step; see aos trace)'),
      model: z
        .string()
        .regex(/^(openai|anthropic):.+$/, 'openai:MODEL or anthropic:MODEL')
        .optional()
        .describe('a model for the fork'),
      prompt: z
        .string()
        .min(1)
        .optional()
        .describe('the fork’s system prompt (aos fork --prompt reads it from a file)'),
    })
    .strict(),
  output: processSchema,
  capability: 'process.spawn',
  // The audit log keeps the prompt's size and digest, not its text.
  auditInput: ({ prompt, ...rest }) => ({
    ...rest,
    ...(prompt === undefined ? {} : { prompt: contentDigest(prompt) }),
  }),
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    const pid = await forkProcess(context.db, {
      pid: input.pid,
      at: input.at,
      ...(input.model === undefined ? {} : { model: input.model }),
      ...(input.prompt === undefined ? {} : { prompt: input.prompt }),
    });
    context.poke();
    return toProcess(await getProcessRow(context.db, pid));
  },
});
