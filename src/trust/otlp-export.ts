/**
 * OTLP export of decision traces: each process becomes one OpenTelemetry trace (a root
 * span for the process, a child span per journal step, tool calls under the model call
 * that asked for them), built with the OpenTelemetry SDK from the journal's real times
 * and sent over OTLP/HTTP (JSON) to the collector the standard OTEL_* variables name.
 * Trace and span ids are derived from the database's identity and the pid (and step
 * seq), so exporting a process again gives the same ids.
 */
import { createHash } from 'node:crypto';
import {
  type Attributes,
  type Context,
  type Link,
  type Span as OtelSpan,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  type IdGenerator,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { AosError } from '../errors.js';
import { packageVersion } from '../package-root.js';
import { type JournalStep, loadJournal } from '../process/journal.js';
import { getProcessRow, type ProcessRow } from '../process/process-table.js';
import { databaseIdentity } from '../storage/database-identity.js';
import type { Queryable } from '../storage/db.js';
import { type Span, traceFromJournal } from './trace.js';

/** Where and how to send traces. */
export interface OtlpOptions {
  /** The traces URL, ending in /v1/traces. */
  url: string;
  /** Headers for each request; OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_HEADERS) when not given. */
  headers?: Record<string, string>;
  /** How long one export may take, retries included; OTEL_EXPORTER_OTLP_TIMEOUT, else 10 s. */
  timeoutMillis?: number;
  /** The resource's service.name; OTEL_SERVICE_NAME, else "aos". */
  serviceName?: string;
}

/** What one export sent. */
export interface ExportedTrace {
  pid: number;
  traceId: string;
  spans: number;
  endpoint: string;
}

/** Sends processes' traces to an OTLP collector. */
export interface OtlpExporter {
  /** The traces URL. */
  readonly endpoint: string;
  /** Exports process `pid` as one trace; `not_found` for an unknown pid, `unavailable` when the collector does not take it. */
  exportProcess(pid: number): Promise<ExportedTrace>;
  /** Waits for exports under way, then closes the exporter; later exports are `unavailable`. */
  shutdown(): Promise<void>;
}

/**
 * The options the standard variables give: undefined when neither
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set, or when
 * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER leaves out otlp.
 */
export function otlpOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): OtlpOptions | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters && !exporters.split(',').some((name) => name.trim() === 'otlp')) return undefined;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (tracesEndpoint) return { url: tracesEndpoint };
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (endpoint) return { url: `${endpoint.replace(/\/+$/, '')}/v1/traces` };
  return undefined;
}

/** The trace id of process `pid` in the database with id `identity`: 16 bytes of sha256, hex. */
export function traceIdOf(identity: string, pid: number): string {
  return digest(`aos trace\n${identity}\n${pid}`, 16);
}

/** The span id of a process's root span (`seq` undefined) or of its step `seq`: 8 bytes of sha256, hex. */
export function spanIdOf(identity: string, pid: number, seq?: number): string {
  return digest(`aos span\n${identity}\n${pid}\n${seq ?? 'process'}`, 8);
}

function digest(text: string, bytes: number): string {
  return createHash('sha256')
    .update(text)
    .digest('hex')
    .slice(0, bytes * 2);
}

/**
 * The SDK asks its IdGenerator for ids as it starts a span; this one hands out the ids
 * set just before (span creation is synchronous, so nothing can come in between).
 */
class JournalIds implements IdGenerator {
  traceId = '';
  spanId = '';
  generateTraceId(): string {
    return this.traceId;
  }
  generateSpanId(): string {
    return this.spanId;
  }
}

/** Collects the spans that end while one trace is built, to send them as one export. */
class TraceCollector implements SpanProcessor {
  target: ReadableSpan[] | undefined;
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    this.target?.push(span);
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

const failedStatuses = new Set(['failed', 'unknown-outcome', 'cancelled']);

/** An exporter that sends to `options.url` the traces of processes in `db`. */
export function createOtlpExporter(db: Queryable, options: OtlpOptions): OtlpExporter {
  const exporter = new OTLPTraceExporter({
    url: options.url,
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(options.timeoutMillis === undefined ? {} : { timeoutMillis: options.timeoutMillis }),
  });
  const ids = new JournalIds();
  const collector = new TraceCollector();
  const batchSize = Math.max(1, Number(process.env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE) || 512);
  const pending = new Set<Promise<unknown>>();
  let closed = false;
  let setup: Promise<{ identity: string; provider: BasicTracerProvider; tracer: Tracer }> | undefined;

  const start = () => {
    setup ??= databaseIdentity(db).then((identity) => {
      const resource = defaultResource()
        .merge(
          resourceFromAttributes({
            'service.name': 'aos',
            'service.version': packageVersion(),
            'aos.database.id': identity,
          }),
        )
        .merge(detectResources({ detectors: [envDetector] }))
        .merge(
          options.serviceName === undefined
            ? null
            : resourceFromAttributes({ 'service.name': options.serviceName }),
        );
      // BasicTracerProvider reads the OTEL_TRACES_SAMPLER and span limit variables.
      const provider = new BasicTracerProvider({ resource, idGenerator: ids, spanProcessors: [collector] });
      return { identity, provider, tracer: provider.getTracer('aos', packageVersion()) };
    });
    setup.catch(() => {
      setup = undefined;
    });
    return setup;
  };

  // One trace is built at a time (the ids and the collector serve one build); sends overlap.
  let building: Promise<unknown> = Promise.resolve();
  const build = (identity: string, tracer: Tracer, row: ProcessRow, journal: JournalStep[]) => {
    const built = building.then(() => buildTrace(tracer, ids, collector, identity, row, journal));
    building = built.catch(() => undefined);
    return built;
  };

  const send = (spans: ReadableSpan[]) =>
    new Promise<ExportResult>((resolve) => exporter.export(spans, resolve));

  async function exportProcess(pid: number): Promise<ExportedTrace> {
    if (closed) throw new AosError('unavailable', 'the OTLP exporter is shut down');
    const { identity, tracer } = await start();
    const row = await getProcessRow(db, pid);
    const journal = await loadJournal(db, pid);
    const spans = await build(identity, tracer, row, journal);
    for (let index = 0; index < spans.length; index += batchSize) {
      const result = await send(spans.slice(index, index + batchSize));
      if (result.code !== ExportResultCode.SUCCESS) {
        throw new AosError(
          'unavailable',
          `the OTLP collector at ${options.url} did not take the trace of process ${pid}: ${result.error?.message ?? 'export failed'}`,
          {
            hint: 'check that the collector runs there, or point OTEL_EXPORTER_OTLP_ENDPOINT at it',
            cause: result.error,
          },
        );
      }
    }
    return { pid, traceId: traceIdOf(identity, pid), spans: spans.length, endpoint: options.url };
  }

  return {
    endpoint: options.url,
    exportProcess(pid) {
      const exported = exportProcess(pid);
      const settled = exported.catch(() => undefined);
      pending.add(settled);
      void settled.then(() => pending.delete(settled));
      return exported;
    },
    async shutdown() {
      if (closed) return;
      closed = true;
      await Promise.all(pending);
      await exporter.shutdown();
      const started = await setup?.catch(() => undefined);
      await started?.provider.shutdown();
    },
  };
}

/** Spans built between two yields to the event loop, so a long trace does not hold up heartbeats. */
const spansPerTurn = 200;

/** Builds and ends the spans of one process; returns them in the order they ended. */
async function buildTrace(
  tracer: Tracer,
  ids: JournalIds,
  collector: TraceCollector,
  identity: string,
  row: ProcessRow,
  journal: JournalStep[],
): Promise<ReadableSpan[]> {
  const processTrace = traceFromJournal(row, journal);
  const ended: ReadableSpan[] = [];
  collector.target = ended;
  try {
    const steps = flatten(processTrace.spans);
    const lastEnd = steps.reduce((latest, span) => Math.max(latest, endOf(span)), 0);
    const root = startSpan(tracer, ids, ROOT_CONTEXT, {
      traceId: traceIdOf(identity, row.pid),
      spanId: spanIdOf(identity, row.pid),
      name: `invoke_agent ${row.agent_name}`,
      kind: SpanKind.INTERNAL,
      startTime: new Date(row.created_at),
      attributes: processAttributes(row, steps),
      links:
        row.ppid === null ? [] : [processLink(identity, row.ppid, { 'aos.link.type': 'parent_process' })],
    });
    const rootContext = trace.setSpan(ROOT_CONTEXT, root);
    let built = 0;
    const stepSpan = (step: Span, parent: Context) => {
      const child = step.attributes['aos.process.child_pid'];
      const span = startSpan(tracer, ids, parent, {
        spanId: spanIdOf(identity, row.pid, step.seq),
        name: step.name,
        kind: step.kind === 'model' ? SpanKind.CLIENT : SpanKind.INTERNAL,
        startTime: new Date(startOf(step)),
        attributes: {
          ...step.attributes,
          'aos.step.kind': step.kind,
          'aos.step.status': step.status,
          ...(step.durationMs === null ? { 'aos.step.unfinished': true } : {}),
          ...(failedStatuses.has(step.status) ? { 'error.type': step.status } : {}),
        },
        links:
          typeof child === 'number'
            ? [processLink(identity, child, { 'aos.link.type': 'child_process' })]
            : [],
      });
      if (failedStatuses.has(step.status)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: step.output || step.status });
      }
      built += 1;
      return span;
    };
    // Depth first, in journal order; a parent may end before its children (spans carry their times).
    const stack = processTrace.spans.map((step) => ({ step, parent: rootContext })).reverse();
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const span = stepSpan(next.step, next.parent);
      span.end(new Date(endOf(next.step)));
      const context = trace.setSpan(ROOT_CONTEXT, span);
      for (const step of [...next.step.children].reverse()) stack.push({ step, parent: context });
      if (built % spansPerTurn === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    if (row.exit_status !== null && row.exit_status !== 0) {
      root.setAttribute('error.type', row.error?.code ?? '_OTHER');
      root.setStatus({
        code: SpanStatusCode.ERROR,
        message: row.error?.message ?? `exit status ${row.exit_status}`,
      });
    }
    const end = row.exited_at === null ? Math.max(lastEnd, Date.now()) : new Date(row.exited_at).getTime();
    root.end(new Date(end));
  } finally {
    collector.target = undefined;
  }
  return ended;
}

function startSpan(
  tracer: Tracer,
  ids: JournalIds,
  parent: Context,
  span: {
    traceId?: string;
    spanId: string;
    name: string;
    kind: SpanKind;
    startTime: Date;
    attributes: Attributes;
    links: Link[];
  },
): OtelSpan {
  if (span.traceId !== undefined) ids.traceId = span.traceId;
  ids.spanId = span.spanId;
  return tracer.startSpan(
    span.name,
    { kind: span.kind, startTime: span.startTime, attributes: span.attributes, links: span.links },
    parent,
  );
}

/** The root span's attributes: who the process is, how it ended, what it used. */
function processAttributes(row: ProcessRow, steps: Span[]): Attributes {
  const sum = (name: string) =>
    steps.reduce((total, span) => total + (Number(span.attributes[name]) || 0), 0);
  return {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': row.agent_name,
    ...(row.model === null ? {} : { 'gen_ai.request.model': row.model }),
    'gen_ai.usage.input_tokens': sum('gen_ai.usage.input_tokens'),
    'gen_ai.usage.output_tokens': sum('gen_ai.usage.output_tokens'),
    'aos.process.pid': row.pid,
    ...(row.ppid === null ? {} : { 'aos.process.ppid': row.ppid }),
    'aos.process.owner': row.owner,
    'aos.process.state': row.state,
    ...(row.exit_status === null ? {} : { 'aos.process.exit_status': row.exit_status }),
    'aos.agent.version': row.agent_version,
    'aos.process.steps': row.steps_used,
    'aos.usage.tokens': row.tokens_used,
    'aos.usage.cached_input_tokens': row.cached_tokens,
    'aos.cost_usd': row.cost_nanos / 1e9,
  };
}

/** A link to the root span of another process's trace. */
function processLink(identity: string, pid: number, attributes: Attributes): Link {
  return {
    context: {
      traceId: traceIdOf(identity, pid),
      spanId: spanIdOf(identity, pid),
      traceFlags: TraceFlags.SAMPLED,
    },
    attributes: { ...attributes, 'aos.process.pid': pid },
  };
}

function flatten(spans: Span[]): Span[] {
  return spans.flatMap((span) => [span, ...flatten(span.children)]);
}

function startOf(span: Span): number {
  return Date.parse(span.startedAt);
}

function endOf(span: Span): number {
  return startOf(span) + (span.durationMs ?? 0);
}
