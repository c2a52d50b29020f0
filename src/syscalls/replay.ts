/** replay, fork: re-run a finished process from its journal; branch a process at a step. */
import { z } from 'zod';
import { forkProcess } from '../process/fork.js';
import { getProcessRow, toProcess } from '../process/process-table.js';
import { replayProcess } from '../trust/replay.js';
import { pidSchema, processSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

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
      prompt: z.string().optional().describe('a file whose text becomes the fork’s system prompt'),
    })
    .strict(),
  output: processSchema,
  capability: 'process.spawn',
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    const pid = await forkProcess(context.db, {
      pid: input.pid,
      at: input.at,
      ...(input.model === undefined ? {} : { model: input.model }),
      ...(input.prompt === undefined ? {} : { promptFile: input.prompt }),
    });
    context.poke();
    return toProcess(await getProcessRow(context.db, pid));
  },
});
