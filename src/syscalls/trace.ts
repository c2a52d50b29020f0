/** trace: a process's decision tree from its journal, with GenAI span attributes. */
import { z } from 'zod';
import { traceOf } from '../trust/trace.js';
import { pidSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

const spanSchema: z.ZodType = z.lazy(() =>
  z.object({
    seq: z.number().int(),
    name: z.string(),
    kind: z.string(),
    status: z.string(),
    startedAt: z.string(),
    durationMs: z.number().nullable(),
    generation: z.number().int(),
    attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    output: z.string(),
    children: z.array(spanSchema),
  }),
);

export const traceSyscall = defineSyscall({
  name: 'trace',
  summary:
    "Show a process's steps as a tree of spans: model calls with their tool calls, tokens, cost, latency",
  input: z.object({ pid: pidSchema.describe('the process') }).strict(),
  output: z.object({
    pid: z.number().int(),
    agent: z.string(),
    state: z.string(),
    exitStatus: z.number().int().nullable(),
    spans: z.array(spanSchema),
  }),
  capability: 'process.trace',
  readOnly: true,
  errors: ['not_found'],
  async handler(kernel, input) {
    return traceOf(kernel.db, input.pid);
  },
});
