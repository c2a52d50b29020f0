/** context: the exact request of a process's model call, segment by segment. */
import { z } from 'zod';
import { inspectContext } from '../process/inspect.js';
import { pidSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

const messageSchema = z.object({ role: z.string(), content: z.string() }).passthrough();

export const contextSyscall = defineSyscall({
  name: 'context',
  summary:
    "Show the exact request of a process's model call (--step N, a step of aos trace; default: its next or last one), segment by segment with token counts",
  input: z
    .object({
      pid: pidSchema.describe('the process'),
      step: z.coerce
        .number()
        .int()
        .positive()
        .optional()
        .describe('the journal step of a model call (see aos trace)'),
    })
    .strict(),
  output: z.object({
    pid: z.number().int(),
    step: z.number().int().nullable(),
    op: z.number().int(),
    system: z.string(),
    tools: z.array(z.string()),
    segments: z.array(
      z.object({
        name: z.enum(['pinned prefix', 'page table', 'working set', 'tail', 'messages']),
        tokens: z.number().int().nullable(),
        messages: z.array(messageSchema),
      }),
    ),
    accounting: z.record(z.string(), z.unknown()).nullable(),
    usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }).passthrough().nullable(),
  }),
  cli: {
    positional: ['pid'],
    examples: ['aos context 12', 'aos context 12 --step 7', 'aos context 12 --json'],
  },
  capability: 'process.inspect',
  readOnly: true,
  errors: ['invalid_input', 'not_found', 'conflict'],
  async handler(context, input) {
    return inspectContext(context, input.pid, input.step) as never;
  },
});
