/**
 * A process's trace: its journal as spans (each model call, with the tool calls it
 * asked for nested under it, and each kernel event), carrying OpenTelemetry GenAI
 * attribute names plus aos's own, so `aos trace` and an OTLP exporter read the same.
 */
import type { JournalStep } from '../process/journal.js';
import { loadJournal } from '../process/journal.js';
import { getProcessRow, type ProcessRow } from '../process/process-table.js';
import type { Queryable } from '../storage/db.js';

/** One span of a trace. */
export interface Span {
  seq: number;
  name: string;
  kind: JournalStep['kind'];
  status: JournalStep['status'];
  startedAt: string;
  durationMs: number | null;
  generation: number;
  attributes: Record<string, string | number | boolean>;
  /** What the step produced, shortened for reading. */
  output: string;
  children: Span[];
}

/** A process and its spans. */
export interface Trace {
  pid: number;
  agent: string;
  state: string;
  exitStatus: number | null;
  spans: Span[];
}

/** The trace of a process from its journal; `not_found` for an unknown pid. */
export async function traceOf(db: Queryable, pid: number): Promise<Trace> {
  const process = await getProcessRow(db, pid);
  return traceFromJournal(process, await loadJournal(db, pid));
}

/** The trace of a process from its row and its journal, read already. */
export function traceFromJournal(process: ProcessRow, journal: JournalStep[]): Trace {
  const pid = process.pid;
  const model = process.model;
  const spans: Span[] = [];
  const byCallId = new Map<string, Span>();
  for (const step of journal) {
    const span = spanOf(step, model);
    const parent = step.callId === null ? undefined : byCallId.get(step.callId);
    if (step.kind === 'tool' && parent !== undefined) parent.children.push(span);
    else spans.push(span);
    if (step.kind === 'model') {
      const calls = ((step.output as { toolCalls?: { id: string }[] } | null)?.toolCalls ?? []).map(
        (call) => call.id,
      );
      for (const id of calls) byCallId.set(id, span);
    }
  }
  return { pid, agent: process.agent_name, state: process.state, exitStatus: process.exit_status, spans };
}

function spanOf(step: JournalStep, modelOverride: string | null): Span {
  const started = Date.parse(step.startedAt);
  const finished = step.finishedAt === null ? null : Date.parse(step.finishedAt);
  const attributes: Span['attributes'] = {
    'aos.step.seq': step.seq,
    'aos.lease.generation': step.generation,
  };
  if (step.kind === 'model') {
    const output = (step.output ?? {}) as { costNanos?: number };
    attributes['gen_ai.operation.name'] = 'chat';
    attributes['gen_ai.request.model'] = modelOverride ?? step.name ?? '';
    attributes['gen_ai.usage.input_tokens'] = step.usage?.inputTokens ?? 0;
    attributes['gen_ai.usage.output_tokens'] = step.usage?.outputTokens ?? 0;
    attributes['aos.usage.cached_input_tokens'] = step.usage?.cachedInputTokens ?? 0;
    // The provider reported no usage: aos counted the tokens (src/cpu/token-counter.ts).
    if (step.usage?.estimated === true) attributes['aos.usage.estimated'] = true;
    attributes['aos.cost_usd'] = (output.costNanos ?? 0) / 1e9;
  } else if (step.kind === 'tool') {
    attributes['gen_ai.operation.name'] = 'execute_tool';
    attributes['gen_ai.tool.name'] = step.name ?? '';
    attributes['gen_ai.tool.call.id'] = step.callId ?? '';
    // A tool step's output is { content, isError, output }: the last is the tool's structured result.
    const child = (step.output as { output?: { pid?: unknown } } | null)?.output?.pid;
    if (step.name === 'spawn' && typeof child === 'number') attributes['aos.process.child_pid'] = child;
  }
  return {
    seq: step.seq,
    name:
      step.kind === 'model'
        ? `chat ${attributes['gen_ai.request.model']}`
        : step.kind === 'tool'
          ? `execute_tool ${step.name}`
          : `${step.kind}${step.name ? ` ${step.name}` : ''}`,
    kind: step.kind,
    status: step.status,
    startedAt: step.startedAt,
    durationMs: finished === null ? null : finished - started,
    generation: step.generation,
    attributes,
    output: shorten(outputText(step)),
    children: [],
  };
}

/** What a step produced, as text: a model's answer, a tool's result, a step's value or error. */
function outputText(step: JournalStep): string {
  const output = step.output as { content?: unknown; value?: unknown; error?: { message?: string } } | null;
  if (output === null || typeof output !== 'object') return output === null ? '' : String(output);
  if (typeof output.content === 'string') return output.content;
  if (output.error?.message !== undefined) return `error: ${output.error.message}`;
  if ('value' in output) return JSON.stringify(output.value) ?? '';
  return '';
}

function shorten(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length <= 120 ? line : `${line.slice(0, 119)}…`;
}

/** The trace as an indented tree for people. */
export function formatTrace(trace: Trace): string {
  const lines = [
    `process ${trace.pid} (${trace.agent}) ${trace.state}${trace.exitStatus === null ? '' : `, exit ${trace.exitStatus}`}`,
  ];
  const walk = (spans: Span[], depth: number) => {
    for (const span of spans) {
      const tokens =
        span.kind === 'model'
          ? `  ${span.attributes['gen_ai.usage.input_tokens']}→${span.attributes['gen_ai.usage.output_tokens']} tok  $${Number(span.attributes['aos.cost_usd']).toFixed(6)}`
          : '';
      const time = span.durationMs === null ? 'unfinished' : `${span.durationMs} ms`;
      lines.push(
        `${'  '.repeat(depth + 1)}${span.seq}. ${span.name} [${span.status}] ${time}${tokens}${span.output ? `  ${span.output}` : ''}`,
      );
      walk(span.children, depth + 1);
    }
  };
  walk(trace.spans, 0);
  return lines.join('\n');
}
