/** trace: a process's decision tree from its journal, with GenAI span attributes; --otlp sends it to a collector. */
import { z } from 'zod';
import { AosError } from '../errors.js';
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
    "Show a process's steps as a tree of spans: model calls with their tool calls, tokens, cost, latency; --otlp also sends it to an OpenTelemetry collector",
  input: z
    .object({
      pid: pidSchema.describe('the process'),
      otlp: z
        .boolean()
        .default(false)
        .describe('also send it as one trace to the OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT)'),
    })
    .strict(),
  output: z.object({
    pid: z.number().int(),
    agent: z.string(),
    state: z.string(),
    exitStatus: z.number().int().nullable(),
    spans: z.array(spanSchema),
    exported: z
      .object({ traceId: z.string(), spans: z.number().int(), endpoint: z.string() })
      .optional()
      .describe('with --otlp: what was sent, and where'),
  }),
  cli: {
    positional: ['pid'],
    examples: [
      'aos trace 12',
      'aos trace 12 --json',
      'OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 aos trace 12 --otlp',
    ],
  },
  capability: 'process.trace',
  readOnly: true,
  errors: ['not_found'],
  async handler(context, input) {
    const trace = await traceOf(context.db, input.pid);
    if (!input.otlp) return trace;
    if (context.otlp === undefined) {
      throw new AosError('unavailable', 'no OTLP endpoint is set', {
        hint: 'set OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://localhost:4318 (an OpenTelemetry Collector)',
        retryable: false,
      });
    }
    const { traceId, spans, endpoint } = await context.otlp.exportProcess(input.pid);
    return { ...trace, exported: { traceId, spans, endpoint } };
  },
});
