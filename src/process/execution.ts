/**
 * An execution: one run of a process's program, kept by a worker across the slices that
 * carry it. It numbers the program's operations in the order they are called, answers
 * the ones its journal already holds, and hands every other one to the slice holding the
 * lease. Journaled operations are released in the order they first completed (journal
 * order), so parallel branches replay exactly as they ran; no new work starts until the
 * whole journal has been replayed.
 */
import type { ModelDriver, ToolSpec } from '../cpu/model.js';
import type { ModelResolver } from '../cpu/resolve-model.js';
import type { TokenCounter } from '../cpu/token-counter.js';
import { type Tool, toolSpecOf } from '../io/tool.js';
import type { ToolRegistry } from '../io/tool-registry.js';
import type { Embedder } from '../memory/embedder.js';
import type { Db } from '../storage/db.js';
import type { AgentDefinition } from './agent-definition.js';
import { digestOf, type JournalStep } from './journal.js';
import type { Block, LiveOutcome, Recorded } from './operation.js';
import type { DeliveredSignal, Program } from './program.js';
import { createProgramContext } from './program-context.js';
import type { Slice } from './slice.js';

/** What executions share in a worker. */
export interface EngineHost {
  db: Db;
  tools: ToolRegistry;
  models: ModelResolver;
  /** Counts request tokens before rationed calls. */
  tokens: TokenCounter;
  /** Embeds the pages the memory manager writes (the kernel's memory embedder). */
  embedder: Embedder;
}

/** How an operation is recognised in the journal: replay checks that the same one comes at the same place. */
export interface OperationSpec {
  kind: 'step' | 'model' | 'tool';
  /** The step's or tool's name; unchecked for model calls (a request may be built lazily). */
  name: string;
  /** For tools: the arguments, compared with the journal's. */
  input?: unknown;
  /** For tools: the call id (the model's, for agents; else made from the position). */
  callId?: string;
  /** For model calls: the request (or its builder), for dry runs (aos context, aos replay). */
  request?: unknown;
}

/** Runs an operation's live part on a slice: `previous` is a row a dead worker left unfinished. */
export type LiveWork = (slice: Slice, op: number, previous: JournalStep | undefined) => Promise<LiveOutcome>;

/** Turns a journaled (or just written) result into what the program gets; throws for recorded failures. */
export type Decode<T> = (recorded: Recorded) => T;

/**
 * A dry run: the program replayed against its journal with no lease and nothing run
 * live, for aos context (find one model call's request) and aos replay (check every
 * decision). The observer sees each operation as the program reaches it, with a way to
 * rebuild a model call's request, and says whether to go on; `ended` says how it ended.
 */
export interface DryRunObserver {
  operation(
    op: number,
    spec: OperationSpec,
    row: JournalStep | undefined,
    request: () => Promise<unknown>,
  ): Promise<'continue' | 'stop'>;
  ended(outcome: { value: unknown } | { error: unknown } | { stopped: string }): void;
}

/** How long replay may make no progress before the journal is declared not to match the program. */
const replayStallMs = 5000;

export class Execution {
  readonly pid: number;
  readonly definition: AgentDefinition;
  readonly program: Program;
  readonly host: EngineHost;
  /** The model string the process runs: its own override, else its definition's (none for some programs). */
  readonly model: string | undefined;
  /** Tools the program may call, by name. */
  readonly tools: Map<string, Tool>;
  /** Signals delivered so far (ctx.signals). */
  readonly delivered: DeliveredSignal[] = [];
  terminating = false;
  /** The last journal seq this execution knows or numbered: a worker re-attaching checks nobody else wrote since. */
  lastSeq: number;
  /** Position of the operation called last. */
  position = 0;
  /** Set when the process ended (exit, divergence) or the execution was abandoned: nothing resolves any more. */
  ended = false;

  private readonly input: string;
  /** The latest journal row of each operation. */
  private readonly recorded = new Map<number, JournalStep>();
  /** Signal rows by the operation at whose start they were delivered. */
  private readonly signalsAt = new Map<number, JournalStep[]>();
  /** Journal seqs of finished operations, in order: the order replay releases them in. */
  private readonly releaseOrder: number[];
  private releasePosition = 0;
  private releaseScheduled = false;
  private readonly called = new Map<number, () => void>();
  private replayed!: Promise<void>;
  private finishReplay!: () => void;
  private replayComplete = false;
  private stallTimer: NodeJS.Timeout | undefined;
  /** Operations that blocked at least once and have not finished (TERM interrupts them). */
  private readonly blockedOps = new Set<number>();
  private slice: Slice | undefined;
  private attachWaiters: ((slice: Slice) => void)[] = [];
  private started = false;
  private readonly drivers = new Map<string, ModelDriver>();
  private dryRun: DryRunObserver | undefined;

  constructor(options: {
    pid: number;
    definition: AgentDefinition;
    program: Program;
    input: string;
    /** The process's own model override. */
    model?: string | null;
    journal: JournalStep[];
    host: EngineHost;
    tools: Tool[];
  }) {
    this.pid = options.pid;
    this.definition = options.definition;
    this.program = options.program;
    this.input = options.input;
    this.host = options.host;
    this.model = options.model ?? (options.definition.model || undefined);
    this.tools = new Map(options.tools.map((tool) => [tool.name, tool]));
    this.lastSeq = options.journal.reduce((highest, step) => Math.max(highest, step.finishedSeq), 0);
    const finished: JournalStep[] = [];
    for (const step of options.journal) {
      if (step.op === null) continue;
      if (step.kind === 'signal') {
        const list = this.signalsAt.get(step.op) ?? [];
        list.push(step);
        this.signalsAt.set(step.op, list);
        continue;
      }
      if (step.kind !== 'model' && step.kind !== 'tool' && step.kind !== 'step') continue;
      this.recorded.set(step.op, step);
      if (isFinal(step.status)) finished.push(step);
    }
    this.releaseOrder = finished
      .sort((left, right) => left.finishedSeq - right.finishedSeq)
      .map((step) => step.finishedSeq);
    this.replayed = new Promise((resolve) => {
      this.finishReplay = () => {
        this.replayComplete = true;
        clearTimeout(this.stallTimer);
        resolve();
      };
    });
    if (this.releaseOrder.length === 0) this.finishReplay();
  }

  /** Attaches the slice that now holds the lease, starting the program on first use. */
  attach(slice: Slice): void {
    this.slice = slice;
    const waiters = this.attachWaiters;
    this.attachWaiters = [];
    for (const waiter of waiters) waiter(slice);
    if (!this.started) {
      this.started = true;
      void this.runProgram();
    }
  }

  /** The slice ended: operations that need one wait for the next. */
  detach(slice: Slice): void {
    if (this.slice === slice) this.slice = undefined;
  }

  /** Ends the execution for good: pending operations never resolve. */
  abandon(): void {
    this.ended = true;
    this.slice = undefined;
    this.attachWaiters = [];
    clearTimeout(this.stallTimer);
  }

  /** Replays the program with no lease, nothing run live, telling `observer` what it meets (see DryRunObserver). */
  dryRunWith(observer: DryRunObserver): void {
    this.dryRun = observer;
    this.started = true;
    void this.runProgram();
  }

  /** Whether this is a dry run (aos context, aos replay): nothing runs live. */
  get inspecting(): boolean {
    return this.dryRun !== undefined;
  }

  /** The journal row of operation `op`, if there is one. */
  recordedRow(op: number): JournalStep | undefined {
    return this.recorded.get(op);
  }

  /** Whether operation `op` blocked before without finishing. */
  wasBlocked(op: number): boolean {
    return this.blockedOps.has(op);
  }

  /** A signal delivered live at the start of operation `op`. */
  noteSignal(signal: string, op: number): void {
    this.delivered.push({ signal, op });
    if (signal === 'TERM') this.terminating = true;
  }

  /** How the model sees tool `name`, if the program may call it. */
  toolSpec(name: string): ToolSpec | undefined {
    const tool = this.tools.get(name);
    return tool === undefined ? undefined : toolSpecOf(tool);
  }

  /** The driver for a model string (cached). */
  driver(model: string): ModelDriver {
    let driver = this.drivers.get(model);
    if (driver === undefined) {
      driver = this.host.models(this.definition, model);
      this.drivers.set(model, driver);
    }
    return driver;
  }

  /**
   * Runs one operation of the program: from the journal when it is there, else live on
   * the slice that holds the lease (waiting for one when none does).
   */
  async operation<T>(spec: OperationSpec, live: LiveWork, decode: Decode<T>): Promise<T> {
    if (this.ended) return never();
    const op = ++this.position;
    this.applyRecordedSignals(op);
    const row = this.recorded.get(op);
    if (row !== undefined && !matches(spec, row)) {
      this.diverge(
        `at operation ${op} the journal has ${describeRow(row)} but the program now calls ${describeSpec(spec)}`,
      );
      return never();
    }
    if (this.dryRun !== undefined) {
      const observer = this.dryRun;
      const finished = row !== undefined && isFinal(row.status);
      if (finished) await this.released(row.finishedSeq);
      const source = spec.request;
      const request = async () => (typeof source === 'function' ? await (source as () => unknown)() : source);
      const next = await observer.operation(op, spec, finished ? row : undefined, request);
      if (next === 'stop' || !finished) {
        this.abandon();
        if (next !== 'stop')
          observer.ended({ stopped: `operation ${op} (${describeSpec(spec)}) has not run yet` });
        return never();
      }
      return decode(row);
    }
    if (row !== undefined && isFinal(row.status)) {
      await this.released(row.finishedSeq);
      return decode(row);
    }
    await this.replayed;
    for (;;) {
      const slice = await this.currentSlice();
      const outcome = await slice.run(op, spec, (current) => live(current, op, row));
      if (outcome.kind === 'done') {
        this.blockedOps.delete(op);
        return decode(outcome.recorded);
      }
      if (outcome.kind === 'ended') return never();
      if (outcome.kind === 'blocked') {
        this.blockedOps.add(op);
        await slice.whenUnblocked();
      } else if (outcome.kind === 'suspend') {
        await slice.whenEnded();
      }
      // 'retry', or after a wake-up: through the boundary again.
    }
  }

  /** The number of the next journal row this execution writes (the lease holder numbers its own). */
  nextSeq(): number {
    this.lastSeq += 1;
    return this.lastSeq;
  }

  private currentSlice(): Promise<Slice> {
    if (this.slice !== undefined && !this.slice.isEnded) return Promise.resolve(this.slice);
    return new Promise((resolve) => this.attachWaiters.push(resolve));
  }

  private applyRecordedSignals(op: number): void {
    for (const row of this.signalsAt.get(op) ?? []) this.noteSignal(row.name ?? '', op);
    this.signalsAt.delete(op);
  }

  /** Resolves when every journaled operation that finished before this one has been released. */
  private released(seq: number): Promise<void> {
    return new Promise((resolve) => {
      this.called.set(seq, resolve);
      this.releaseReady();
    });
  }

  /**
   * Releases the next journaled operation once the program has called it, one per turn
   * of the event loop: the program's code after each release runs to its next operation
   * before the next one is released, as it did when those operations finished live.
   */
  private releaseReady(): void {
    if (this.releaseScheduled) return;
    const next = this.releaseOrder[this.releasePosition];
    if (next === undefined) {
      this.finishReplay();
      return;
    }
    const resolve = this.called.get(next);
    if (resolve === undefined) {
      this.watchForStall();
      return;
    }
    this.called.delete(next);
    this.releasePosition += 1;
    resolve();
    if (this.releasePosition >= this.releaseOrder.length) {
      this.finishReplay();
      return;
    }
    this.releaseScheduled = true;
    setImmediate(() => {
      this.releaseScheduled = false;
      this.releaseReady();
    });
  }

  /** Replay waits for an operation the program never calls: after a while that is a divergence. */
  private watchForStall(): void {
    if (this.stallTimer !== undefined || this.replayComplete) return;
    const position = this.releasePosition;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.replayComplete || this.ended) return;
      if (this.releasePosition !== position) {
        this.watchForStall();
        return;
      }
      const seq = this.releaseOrder[this.releasePosition]!;
      const row = [...this.recorded.values()].find((step) => step.finishedSeq === seq)!;
      this.diverge(
        `the journal has ${describeRow(row)} at operation ${row.op}, which the program did not call (it called ${this.position} operations)`,
      );
    }, replayStallMs);
    this.stallTimer.unref();
  }

  private async runProgram(): Promise<void> {
    const ctx = createProgramContext(this);
    let outcome: { value: unknown } | { error: unknown };
    try {
      outcome = { value: await this.program.run(ctx, this.input) };
    } catch (error) {
      outcome = { error };
    }
    if (this.ended) return;
    if (!this.replayComplete) {
      const seq = this.releaseOrder[this.releasePosition]!;
      const row = [...this.recorded.values()].find((step) => step.finishedSeq === seq)!;
      this.diverge(
        `the program ${'error' in outcome ? 'failed' : 'returned'} after ${this.position} operations, but the journal has more (${describeRow(row)} at operation ${row.op})`,
      );
      return;
    }
    if (this.dryRun !== undefined) {
      this.abandon();
      this.dryRun.ended(outcome);
      return;
    }
    const slice = await this.currentSlice();
    if (this.ended) return;
    await slice.finishProgram(outcome);
  }

  /** The program does not match its journal: the process is stopped with the reason, nothing is run. */
  private diverge(message: string): void {
    if (this.ended) return;
    const full =
      `process ${this.pid} (${this.definition.name}, version ${programVersionOf(this.definition)}): ${message}. ` +
      'The code changed since the process started, or it is not deterministic ' +
      '(use ctx.now(), ctx.random() and ctx.step() for anything that varies)';
    if (this.dryRun !== undefined) {
      this.abandon();
      this.dryRun.ended({ stopped: full });
      return;
    }
    void this.currentSlice().then((slice) => slice.diverge(full));
  }
}

/** A promise that never settles: what an operation of an ended execution returns. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

/** Final statuses: the operation is over and its result is in the row. */
export function isFinal(status: JournalStep['status']): boolean {
  return status === 'done' || status === 'failed' || status === 'unknown-outcome' || status === 'cancelled';
}

function matches(spec: OperationSpec, row: JournalStep): boolean {
  if (spec.kind !== row.kind) return false;
  if (spec.kind === 'model') {
    const purpose = (value: unknown) => (value as { purpose?: string } | null)?.purpose ?? null;
    return purpose(spec.input) === purpose(row.input);
  }
  if (spec.name !== row.name) return false;
  return spec.kind !== 'tool' || digestOf(spec.input ?? {}) === digestOf(row.input ?? {});
}

function describeRow(row: JournalStep): string {
  return row.kind === 'model' ? 'a model call' : `${row.kind} "${row.name}"`;
}

function describeSpec(spec: OperationSpec): string {
  return spec.kind === 'model' ? 'a model call' : `${spec.kind} "${spec.name}"`;
}

/** The version a process's program runs at, for messages: a digest prefix for programs, else the agent's. */
function programVersionOf(definition: AgentDefinition): string {
  return definition.program === undefined ? 'agent' : definition.program.digest.slice(0, 12);
}

export type { Block };
