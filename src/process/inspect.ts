/**
 * Inspecting a process's context (aos context): the exact request of one of its model
 * calls, rebuilt by replaying its program against the journal up to that call and
 * building the request as the program did, without running anything. Requests are not
 * stored; they are recomputed, and come out the same because the program is.
 */
import type { Message } from '../cpu/model.js';
import type { ModelResolver } from '../cpu/resolve-model.js';
import { TokenCounter } from '../cpu/token-counter.js';
import { AosError } from '../errors.js';
import type { ToolRegistry } from '../io/tool-registry.js';
import type { Embedder } from '../memory/embedder.js';
import type { Db } from '../storage/db.js';
import { Execution } from './execution.js';
import { type JournalStep, loadJournal } from './journal.js';
import { getProcessRow, type ProcessRow } from './process-table.js';
import type { ProgramModelRequest } from './program.js';
import type { ProgramCatalog } from './programs.js';
import { getAgentDefinition } from './spawn.js';

/** One segment of a request: its name, its tokens as the memory manager counted them, its messages. */
export interface ContextSegment {
  name: 'pinned prefix' | 'page table' | 'working set' | 'tail' | 'messages';
  tokens: number | null;
  messages: Message[];
}

/** A model call's request, segment by segment. */
export interface ContextView {
  pid: number;
  /** The journal seq of the call; null for a call not made yet. */
  step: number | null;
  /** Its position in the program. */
  op: number;
  system: string;
  tools: string[];
  segments: ContextSegment[];
  /** What the memory manager journaled with the call (or computed now, for a call not made yet). */
  accounting: Record<string, unknown> | null;
  /** What the provider reported, for a call that was made. */
  usage: JournalStep['usage'];
}

/** What inspection needs from a kernel. */
export interface InspectHost {
  db: Db;
  tools: ToolRegistry;
  models: ModelResolver;
  programs: ProgramCatalog;
  embedder: Embedder;
}

/** The request of model call `step` (a journal seq) of process `pid`, or of its next model call. */
export async function inspectContext(host: InspectHost, pid: number, step?: number): Promise<ContextView> {
  const row = await getProcessRow(host.db, pid);
  const journal = await loadJournal(host.db, pid);
  let op: number | undefined;
  if (step !== undefined) {
    const target = journal.find((entry) => entry.seq === step);
    if (target === undefined) {
      throw new AosError('not_found', `process ${pid} has no step ${step}`, {
        hint: `list its steps with: aos trace ${pid}`,
      });
    }
    if (target.kind !== 'model' || target.op === null) {
      throw new AosError(
        'invalid_input',
        `step ${step} of process ${pid} is a ${target.kind} step, not a model call`,
        {
          hint: `aos context shows model calls; find them with: aos trace ${pid}`,
        },
      );
    }
    op = target.op;
  } else if (row.state === 'exited') {
    op = journal.filter((entry) => entry.kind === 'model' && entry.op !== null).at(-1)?.op ?? undefined;
    if (op === undefined) {
      throw new AosError('not_found', `process ${pid} made no model call`, {
        hint: `see its steps with: aos trace ${pid}`,
      });
    }
  }
  const execution = await dryRunExecution(host, row, journal);
  const found = await new Promise<{ op: number; request: ProgramModelRequest; row: JournalStep | undefined }>(
    (resolve, reject) => {
      execution.dryRunWith({
        async operation(at, spec, recorded, request) {
          const wanted = op === undefined ? recorded === undefined : op === at;
          if (spec.kind !== 'model' || !wanted) return 'continue';
          resolve({ op: at, request: (await request()) as ProgramModelRequest, row: recorded });
          return 'stop';
        },
        ended(outcome) {
          const reason = 'stopped' in outcome ? outcome.stopped : 'the program ended before that model call';
          reject(
            new AosError('conflict', `process ${pid}: no model call to show: ${reason}`, {
              hint: `see its steps with: aos trace ${pid}`,
            }),
          );
        },
      });
    },
  );
  const recordedAccounting = (found.row?.output as { context?: Record<string, unknown> } | null)?.context;
  const accounting = recordedAccounting ?? found.request.accounting ?? null;
  return {
    pid,
    step: found.row?.seq ?? null,
    op: found.op,
    system: found.request.system ?? '',
    tools: found.request.tools ?? [],
    segments: segmentsOf(found.request.messages, accounting),
    accounting,
    usage: found.row?.usage ?? null,
  };
}

/**
 * An execution of process `row` for a dry run (aos context, aos replay): its program,
 * definition and tools as a worker would have them, over `journal`, with no lease.
 */
export async function dryRunExecution(
  host: InspectHost,
  row: ProcessRow,
  journal: JournalStep[],
): Promise<Execution> {
  const definition = await getAgentDefinition(host.db, row.agent_name, row.agent_version);
  return new Execution({
    pid: row.pid,
    definition,
    program: await host.programs.programFor(definition),
    input: row.input,
    model: row.model,
    journal,
    host: {
      db: host.db,
      tools: host.tools,
      models: host.models,
      tokens: new TokenCounter(),
      embedder: host.embedder,
    },
    tools: host.tools.select(definition.tools, `agent ${definition.name}`),
  });
}

/** Splits a request's messages into the memory manager's segments, by the counts it journaled. */
function segmentsOf(messages: Message[], accounting: Record<string, unknown> | null): ContextSegment[] {
  const count = (key: string) =>
    typeof accounting?.[key] === 'number' ? (accounting[key] as number) : undefined;
  const pageTable = count('pageTableMessages');
  const working = count('workingSetMessages');
  if (pageTable === undefined || working === undefined) return [{ name: 'messages', tokens: null, messages }];
  return [
    { name: 'pinned prefix', tokens: count('prefixTokens') ?? null, messages: messages.slice(0, 1) },
    {
      name: 'page table',
      tokens: count('pageTableTokens') ?? null,
      messages: messages.slice(1, 1 + pageTable),
    },
    {
      name: 'working set',
      tokens: count('workingSetTokens') ?? null,
      messages: messages.slice(1 + pageTable, 1 + pageTable + working),
    },
    { name: 'tail', tokens: count('tailTokens') ?? null, messages: messages.slice(1 + pageTable + working) },
  ];
}

/** A context view as text: each segment with its tokens, then its messages. */
export function formatContext(view: ContextView): string {
  const lines = [
    `process ${view.pid}, ${view.step === null ? 'next model call' : `step ${view.step}`} (operation ${view.op})`,
    `system: ${view.system.replace(/\s+/g, ' ').slice(0, 200)}`,
    `tools: ${view.tools.join(', ') || '(none)'}`,
  ];
  for (const segment of view.segments) {
    lines.push(
      `── ${segment.name}${segment.tokens === null ? '' : ` (${segment.tokens} tokens)`}, ${segment.messages.length} messages ──`,
    );
    for (const message of segment.messages) {
      const text = message.content.replace(/\s+/g, ' ');
      const calls =
        message.role === 'assistant' && (message.toolCalls?.length ?? 0) > 0
          ? ` → ${message.toolCalls!.map((call) => call.name).join(', ')}`
          : '';
      lines.push(`  ${message.role}: ${text.length > 160 ? `${text.slice(0, 159)}…` : text}${calls}`);
    }
  }
  const reused = view.accounting?.reusedTokens;
  const input = view.accounting?.inputTokens;
  if (typeof reused === 'number' && typeof input === 'number' && input > 0) {
    lines.push(`prefix reuse: ${reused} of ${input} tokens (${Math.round((100 * reused) / input)}%)`);
  }
  if (view.usage !== null) {
    lines.push(
      `provider: ${view.usage.inputTokens} input tokens, ${view.usage.cachedInputTokens ?? 0} cached, ${view.usage.outputTokens} output`,
    );
  }
  return lines.join('\n');
}
