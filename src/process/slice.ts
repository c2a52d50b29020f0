/**
 * A slice: what a worker runs of a process under one lease. Every operation passes the
 * step boundary here first (signals, limits, the quantum), then runs its live part. The
 * slice ends when the process exits, when all its operations are blocked (it parks),
 * when it is stopped, yields its turn or is released at shutdown (once nothing is in
 * flight), or when the lease is lost.
 */
import { type Device, deviceFor } from '../cpu/devices.js';
import { parseDuration } from '../duration.js';
import { toAosError } from '../errors.js';
import type { Db, Queryable } from '../storage/db.js';
import { LeaseLostError } from '../storage/postgres-errors.js';
import type { Limits } from './agent-definition.js';
import { formatUsd, type OwnerBudget, ownerBudgetOf } from './budgets.js';
import { errorRecord } from './error-record.js';
import type { Execution, OperationSpec } from './execution.js';
import {
  appendProgramStep,
  appendStep,
  finishStep,
  type Lease,
  type StepRecord,
  type StepStatus,
  type StepWritten,
} from './journal.js';
import { journalable } from './journalable.js';
import { extendLease } from './lease.js';
import type { Block, LiveOutcome, Recorded } from './operation.js';
import type { ProcessRow } from './process-table.js';
import { type SignalName, signalNumbers } from './signals.js';
import type { SliceControl } from './slice-control.js';
import { hasChildren, limitReachedBy, treeLimitReached } from './tree-limits.js';

/** How a slice ended. */
export type SliceOutcome = 'exited' | 'blocked' | 'stopped' | 'yielded' | 'released' | 'lease-lost';

/** What the boundary decided for an operation. */
type Verdict =
  | { kind: 'go' }
  | { kind: 'done'; recorded: Recorded }
  | { kind: 'ended' }
  | { kind: 'suspend' };

type Ending = 'stopped' | 'yielded' | 'released';

export interface SliceOptions {
  execution: Execution;
  process: ProcessRow;
  lease: Lease;
  control: SliceControl;
  /** After this long, the slice gives its worker slot to another ready process. */
  quantumMs: number;
}

export class Slice {
  readonly execution: Execution;
  readonly lease: Lease;
  readonly control: SliceControl;
  readonly process: ProcessRow;
  stepsUsed: number;
  tokensUsed: number;
  costUsedNanos: number;
  /** Model calls let through by a rationed device in this slice. */
  modelCallsGranted = 0;
  /** Whether the process has had a child: looked up once a slice, set when it spawns one. */
  private childrenKnown: Promise<boolean> | undefined;

  private readonly db: Db;
  private readonly quantumMs: number;
  private quantumStartedAt = Date.now();
  /** Operations let through the boundary in this slice: one at least before the quantum may end it. */
  private operationsRun = 0;
  private readonly processStartedAt: number;
  private pending: Set<string>;
  private termDeadlineStep: number | null;
  private termDeadlineAt: number | null;
  private ownerBudget: OwnerBudget | undefined;
  private readonly devices = new Map<string, Promise<Device | undefined>>();
  private executing = 0;
  private readonly blocked = new Map<number, Block>();
  /** Program steps journaled without updating the process row; counted with the next other write. */
  private uncountedSteps = 0;
  private ending: Ending | undefined;
  private ended = false;
  private checking = false;
  private boundaryQueue: Promise<unknown> = Promise.resolve();
  /** Results are journaled through this lane, one at a time (see inResultLane). */
  private resultLane: Promise<unknown> = Promise.resolve();
  private settle!: (outcome: SliceOutcome) => void;
  private fail!: (error: unknown) => void;
  /** Resolves with how the slice ended. */
  readonly outcome: Promise<SliceOutcome>;
  private endedSignal!: () => void;
  private readonly endedPromise: Promise<void>;
  private unblock: (() => void) | undefined;
  private unblockedPromise: Promise<void> | undefined;

  constructor(options: SliceOptions) {
    this.execution = options.execution;
    this.db = options.execution.host.db;
    this.process = options.process;
    this.lease = options.lease;
    this.control = options.control;
    this.quantumMs = options.quantumMs;
    this.stepsUsed = options.process.steps_used;
    this.tokensUsed = options.process.tokens_used;
    this.costUsedNanos = options.process.cost_nanos;
    this.pending = new Set(options.process.pending_signals);
    this.termDeadlineStep = options.process.term_deadline_step;
    this.termDeadlineAt = options.process.term_deadline_at?.getTime() ?? null;
    this.processStartedAt = (options.process.started_at ?? new Date()).getTime();
    this.outcome = new Promise<SliceOutcome>((resolve, reject) => {
      this.settle = resolve;
      this.fail = reject;
    });
    this.endedPromise = new Promise((resolve) => {
      this.endedSignal = resolve;
    });
  }

  /** Runs the slice: attaches it to the execution and resolves when it ends. */
  async start(): Promise<SliceOutcome> {
    try {
      this.ownerBudget = await ownerBudgetOf(this.db, this.process.owner);
    } catch (error) {
      this.end(undefined, error);
      return this.outcome;
    }
    // KILL with nothing in flight ends the process even if the program calls nothing more.
    this.control.everything.signal.addEventListener('abort', () => this.scheduleCheck(), { once: true });
    this.execution.attach(this);
    this.scheduleCheck();
    return this.outcome;
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /** Resolves when the slice has ended. */
  whenEnded(): Promise<void> {
    return this.endedPromise;
  }

  /** Resolves when blocked operations should look again: a wake-up came before the park, or the slice ended. */
  whenUnblocked(): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.unblockedPromise ??= new Promise((resolve) => {
      this.unblock = resolve;
    });
    return this.unblockedPromise;
  }

  /**
   * When a model call in flight must end at the latest (ms since the epoch): the end of the
   * process's wall time or of its TERM grace, whichever is first; undefined for neither. The
   * call is aborted then, and the next boundary ends the process.
   */
  callDeadline(): number | undefined {
    const limits: Limits = { ...this.execution.definition.limits, ...(this.process.limits as Limits) };
    const ends: number[] = [];
    if (limits.max_wall_time !== undefined) {
      ends.push(this.processStartedAt + parseDuration(limits.max_wall_time, 'limits.max_wall_time'));
    }
    if (this.termDeadlineAt !== null) ends.push(this.termDeadlineAt);
    return ends.length === 0 ? undefined : Math.min(...ends);
  }

  /** The device of a model string (cached for the slice). */
  device(model: string): Promise<Device | undefined> {
    let device = this.devices.get(model);
    if (device === undefined) {
      device = deviceFor(this.db, model);
      this.devices.set(model, device);
    }
    return device;
  }

  /** Runs an operation's live part after the boundary; journal writes are fenced by the lease. */
  async run(
    op: number,
    spec: OperationSpec,
    work: (slice: Slice) => Promise<LiveOutcome>,
  ): Promise<LiveOutcome> {
    if (this.ended) return { kind: 'suspend' };
    this.executing += 1;
    try {
      const verdict = await this.serialized(() => this.boundary(op, spec));
      if (verdict.kind !== 'go') return verdict;
      const outcome = await work(this);
      if (outcome.kind === 'blocked') this.blocked.set(op, outcome.block);
      return outcome;
    } catch (error) {
      return this.failure(error);
    } finally {
      this.executing -= 1;
      this.scheduleCheck();
    }
  }

  /** The program returned or threw: the process exits with status 0 and its result, or 1 and the error. */
  async finishProgram(outcome: { value: unknown } | { error: unknown }): Promise<void> {
    if (this.ended) return;
    try {
      if ('error' in outcome) {
        const error = errorRecord(outcome.error);
        await this.exit(
          1,
          null,
          { code: error.code ?? 'failed', message: error.message },
          exitStep('done', this.execution.position),
        );
      } else {
        const checked = journalable(outcome.value);
        if (checked !== undefined) {
          await this.exit(
            1,
            null,
            { code: 'invalid_input', message: `the program's result ${checked}` },
            exitStep('done', this.execution.position),
          );
        } else {
          await this.exit(0, outcome.value ?? null, null, exitStep('done', this.execution.position));
        }
      }
    } catch (error) {
      this.failure(error);
    }
  }

  /** The program no longer matches its journal: stop the process, with the reason, before anything runs. */
  async diverge(message: string): Promise<void> {
    if (this.ended) return;
    try {
      await this.db.query('select aos.audit_append($1, $2, $3, $4)', [
        'diverged',
        this.lease.pid,
        `process:${this.lease.pid}`,
        JSON.stringify({ message }),
      ]);
      const result = await this.db.query(
        `update aos.processes set state = 'stopped', wait_reason = 'diverged', wait_detail = $3,
                lease_owner = null, lease_expires_at = null, updated_at = now()
          where pid = $1 and lease_generation = $2 and state = 'running'`,
        [this.lease.pid, this.lease.generation, JSON.stringify({ message })],
      );
      this.execution.abandon();
      this.end(result.rowCount === 0 ? 'lease-lost' : 'stopped');
    } catch (error) {
      this.failure(error);
    }
  }

  /** Ends the process, journaling `step` in the same transaction. */
  async exit(
    status: number,
    result: unknown,
    error: { code: string; message: string } | null,
    step: StepRecord,
  ): Promise<void> {
    await this.write(() =>
      this.db.transaction(async (tx) => {
        // An exit wakes the parent: both rows are locked first, in pid order.
        if (this.process.ppid !== null) {
          await tx.query('select aos.lock_processes($1)', [[this.process.ppid, this.lease.pid]]);
        }
        await appendStep(tx, this.lease, this.execution.nextSeq(), this.withUncounted(step));
        await tx.query('select aos.exit_process($1, $2, $3, $4)', [
          this.lease.pid,
          status,
          result === null ? null : JSON.stringify(result),
          error === null ? null : JSON.stringify(error),
        ]);
      }),
    );
    this.markExited();
  }

  /** The process exited inside a write made elsewhere (the finish tool). */
  markExited(): void {
    this.execution.abandon();
    this.end('exited');
  }

  /**
   * Appends a row that is not an operation's result (a tool call journaled as started, a
   * signal), or any row inside a transaction of the result lane; keeps the pending signals
   * the database reports, less `handled`.
   */
  async append(step: StepRecord, db: Queryable = this.db): Promise<StepWritten> {
    const seq = this.execution.nextSeq();
    const sentAt = performance.now();
    const written = await this.write(() => appendStep(db, this.lease, seq, this.withUncounted(step)));
    // Inside a transaction the new expiry counts from the transaction's start, unknown here.
    if (db === this.db) this.control.extended(sentAt, this.lease.leaseMs);
    this.absorb(written, step.handledSignals ?? []);
    return written;
  }

  /** Journals an operation's result in the result lane, and counts its usage. */
  async appendResult(step: StepRecord): Promise<StepWritten> {
    const written = await this.inResultLane(() => this.append(step));
    this.countStep(step);
    return written;
  }

  /** Completes step `seq`, journaled as started, with the operation's result (in the result lane); counts its usage. */
  async finishResult(
    seq: number,
    step: Pick<StepRecord, 'status' | 'output' | 'usage' | 'countsAsStep' | 'extraSteps' | 'audit'>,
  ): Promise<StepWritten> {
    const written = await this.inResultLane(async () => {
      const finishedSeq = this.execution.nextSeq();
      const sentAt = performance.now();
      const finished = await finishStep(this.db, this.lease, seq, finishedSeq, this.withUncounted(step));
      this.control.extended(sentAt, this.lease.leaseMs);
      return finished;
    });
    this.absorb(written);
    this.countStep(step);
    return written;
  }

  /**
   * Runs `work` in one transaction in the result lane: for operations whose result is
   * journaled together with other writes (kernel tools, pages). Counting is the caller's.
   */
  resultTransaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inResultLane(() => this.db.transaction(work));
  }

  /** Appends a program step with one INSERT (see appendProgramStep), in the result lane; it is counted with the next other write. */
  async appendProgramStep(step: {
    name: string;
    status: StepStatus;
    output: unknown;
    op: number;
    startedAt: Date;
    counts: boolean;
  }): Promise<void> {
    await this.inResultLane(() => appendProgramStep(this.db, this.lease, this.execution.nextSeq(), step));
    if (step.counts) {
      this.uncountedSteps += 1;
      this.count({ steps: 1 });
    }
  }

  /**
   * Journals results one at a time, in the order the program receives them, a turn of the
   * event loop apart, as replay releases them (decision 0006): `work` numbers its rows when
   * it starts, so journal order is the order the program saw. Parallel branches run
   * concurrently; only their result writes take turns.
   */
  private inResultLane<T>(work: () => Promise<T>): Promise<T> {
    const written = this.resultLane.then(() => this.write(work));
    this.resultLane = written.then(nextTurn, nextTurn);
    return written;
  }

  /** Counts a journaled step's usage: one step if it counts as one, its tokens and cost. */
  private countStep(step: Pick<StepRecord, 'countsAsStep' | 'usage' | 'costNanos'>): void {
    if (!step.countsAsStep) return;
    this.count({
      steps: 1,
      tokens: step.usage === undefined ? 0 : step.usage.inputTokens + step.usage.outputTokens,
      costNanos: step.costNanos ?? 0,
    });
  }

  /** Keeps the pending signals a write reported, less `handled`. */
  absorb(written: StepWritten, handled: readonly string[] = []): void {
    this.pending = new Set(written.pendingSignals.filter((signal) => !handled.includes(signal)));
  }

  /** `step`, also counting the program steps not yet counted in the process row. */
  private withUncounted<T extends { extraSteps?: number }>(step: T): T {
    if (this.uncountedSteps === 0) return step;
    const extra = this.uncountedSteps;
    this.uncountedSteps = 0;
    return { ...step, extraSteps: (step.extraSteps ?? 0) + extra };
  }

  /** Writes the count of program steps not yet in the process row (before the slice lets go). */
  private async flushUncounted(): Promise<void> {
    if (this.uncountedSteps === 0) return;
    const steps = this.uncountedSteps;
    this.uncountedSteps = 0;
    await this.db.query(
      'update aos.processes set steps_used = steps_used + $3 where pid = $1 and lease_generation = $2',
      [this.lease.pid, this.lease.generation, steps],
    );
  }

  /** Whether the process has had a child (for the limits of its tree). */
  hasChildren(): Promise<boolean> {
    this.childrenKnown ??= hasChildren(this.db, this.lease.pid);
    return this.childrenKnown;
  }

  /** The process spawned a child in this slice. */
  noteChildSpawned(): void {
    this.childrenKnown = Promise.resolve(true);
  }

  /** Adds a step's usage to the counters the limits are checked against. */
  count(usage: { steps?: number; tokens?: number; costNanos?: number }): void {
    this.stepsUsed += usage.steps ?? 0;
    this.tokensUsed += usage.tokens ?? 0;
    this.costUsedNanos += usage.costNanos ?? 0;
  }

  /**
   * Resolves once this worker can vouch that it still holds the lease, so that live work
   * (a step's function, a tool, a model call) may start: at once while its own monotonic
   * clock is a margin short of the expiry it knows of; else, as after a stall (GC, SIGSTOP,
   * a loaded machine), only after the database has extended the lease. Throws
   * LeaseLostError when the lease is gone. Fencing guards writes; this guards side effects.
   */
  async vouch(): Promise<void> {
    if (this.ended || this.control.everything.signal.aborted) {
      throw new LeaseLostError(`lease on process ${this.lease.pid} is lost`);
    }
    if (performance.now() + vouchMarginMs(this.lease.leaseMs) < this.control.heldUntil) return;
    const sentAt = performance.now();
    const pending = await extendLease(this.db, this.lease);
    if (pending === undefined) {
      this.control.leaseLost();
      throw new LeaseLostError(
        `lease on process ${this.lease.pid} (generation ${this.lease.generation}) is lost`,
      );
    }
    this.control.extended(sentAt, this.lease.leaseMs);
  }

  /** Runs a journal write; one after the slice was told its lease is gone is refused here too. */
  async write<T>(work: () => Promise<T>): Promise<T> {
    if (this.control.everything.signal.reason?.message === 'lease lost' || this.ended) {
      throw new LeaseLostError(`lease on process ${this.lease.pid} is lost`);
    }
    return work();
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const next = this.boundaryQueue.then(work, work);
    this.boundaryQueue = next.catch(() => {});
    return next;
  }

  /** Signals, limits, shutdown and the quantum, before an operation runs. */
  private async boundary(op: number, spec: OperationSpec): Promise<Verdict> {
    if (this.ended) return { kind: 'suspend' };
    if (this.ending !== undefined) return { kind: 'suspend' };
    for (const signal of this.control.arrived) this.pending.add(signal);
    this.control.arrived.clear();
    if (this.pending.has('KILL') || this.control.everything.signal.aborted) {
      await this.killed();
      return { kind: 'ended' };
    }
    if (this.pending.has('STOP')) {
      await this.append({ ...signalStep('STOP', op), handledSignals: ['STOP'] });
      this.ending = 'stopped';
      return { kind: 'suspend' };
    }
    if (this.pending.has('XCPU')) {
      await this.exit(
        128 + signalNumbers.XCPU,
        null,
        limitError('stopped by signal XCPU'),
        signalStep('XCPU', op),
      );
      return { kind: 'ended' };
    }
    if (this.pending.has('TERM')) {
      const interrupted = await this.deliverTerm(op, spec);
      if (interrupted !== undefined) return { kind: 'done', recorded: interrupted };
    }
    if (this.pending.has('INT')) {
      await this.append({ ...signalStep('INT', op), handledSignals: ['INT'] });
      this.execution.noteSignal('INT', op);
    }
    if (this.control.shuttingDown) {
      this.ending = 'released';
      return { kind: 'suspend' };
    }
    const graceOver =
      (this.termDeadlineStep !== null && this.stepsUsed >= this.termDeadlineStep) ||
      (this.termDeadlineAt !== null && Date.now() >= this.termDeadlineAt);
    if (graceOver) {
      await this.exit(
        128 + signalNumbers.KILL,
        null,
        killedError('killed: did not finish within the grace period after TERM'),
        signalStep('KILL', op),
      );
      return { kind: 'ended' };
    }
    const limit =
      this.limitReached() ??
      (await treeLimitReached(
        this.db,
        this.process,
        this.execution.definition.limits,
        { steps: this.stepsUsed, tokens: this.tokensUsed, costNanos: this.costUsedNanos },
        () => this.hasChildren(),
      ));
    if (limit !== undefined) {
      await this.exit(128 + signalNumbers.XCPU, null, limitError(limit), signalStep('XCPU', op));
      return { kind: 'ended' };
    }
    // A slice makes progress before it yields: with a quantum shorter than a claim, a slice
    // ending at its first boundary would hand the worker round without any process moving.
    if (this.operationsRun > 0 && Date.now() - this.quantumStartedAt > this.quantumMs) {
      if (await this.othersAreReady()) {
        this.ending = 'yielded';
        return { kind: 'suspend' };
      }
      // Nobody else is waiting: look again after another quantum, not at every operation.
      this.quantumStartedAt = Date.now();
    }
    this.operationsRun += 1;
    return { kind: 'go' };
  }

  private async killed(): Promise<void> {
    if (this.control.everything.signal.reason?.message === 'lease lost') {
      this.end('lease-lost');
      return;
    }
    await this.exit(
      128 + signalNumbers.KILL,
      null,
      killedError('killed by signal KILL'),
      signalStep('KILL', this.execution.position),
    );
  }

  /**
   * TERM: the process is told to wrap up (ctx.terminating, and a notice for agents), the
   * grace period starts, and an operation that was blocked (recv, wait, sleep, approval)
   * is interrupted: it ends with an error result, journaled in the same transaction.
   */
  private async deliverTerm(op: number, spec: OperationSpec): Promise<Recorded | undefined> {
    const wasBlocked =
      spec.kind === 'tool' && (this.execution.wasBlocked(op) || blockedInDetail(this.process, op));
    const graceSteps = this.execution.definition.termGraceSteps;
    const graceMs = this.execution.definition.termGraceMs;
    this.termDeadlineStep = this.stepsUsed + graceSteps;
    this.termDeadlineAt = Date.now() + graceMs;
    const interrupted: Recorded | undefined = wasBlocked
      ? {
          status: 'failed',
          output: { content: 'interrupted by signal TERM before it completed', isError: true },
          usage: null,
        }
      : undefined;
    // In the result lane: the interrupted call's result is journaled with the signal.
    await this.resultTransaction(async (tx) => {
      const written = await appendStep(
        tx,
        this.lease,
        this.execution.nextSeq(),
        this.withUncounted({ ...signalStep('TERM', op), handledSignals: ['TERM'] }),
      );
      this.absorb(written, ['TERM']);
      await tx.query(
        'update aos.processes set term_deadline_step = $2, term_deadline_at = $3, wait_detail = null where pid = $1',
        [this.lease.pid, this.termDeadlineStep, new Date(this.termDeadlineAt!)],
      );
      if (interrupted !== undefined) {
        const tool = await appendStep(tx, this.lease, this.execution.nextSeq(), {
          kind: 'tool',
          name: spec.name,
          callId: callIdOf(spec, op),
          status: 'failed',
          input: spec.input ?? {},
          output: interrupted.output,
          countsAsStep: true,
          op,
          audit: {
            kind: 'tool-call',
            data: { tool: spec.name, op, status: 'interrupted', signal: 'TERM' },
          },
        });
        this.absorb(tool);
      }
    });
    this.execution.noteSignal('TERM', op);
    if (interrupted !== undefined) this.count({ steps: 1 });
    return interrupted;
  }

  private limitReached(): string | undefined {
    const limits: Limits = { ...this.execution.definition.limits, ...(this.process.limits as Limits) };
    const own = limitReachedBy(limits, {
      steps: this.stepsUsed,
      tokens: this.tokensUsed,
      costNanos: this.costUsedNanos,
      elapsedMs: Date.now() - this.processStartedAt,
    });
    if (own !== undefined) return own;
    const owner = this.ownerBudget;
    if (owner === undefined) return undefined;
    const tokens = owner.tokensUsed + this.tokensUsed - this.process.tokens_used;
    const cost = owner.costNanos + this.costUsedNanos - this.process.cost_nanos;
    if (owner.maxTokens !== null && tokens >= owner.maxTokens) {
      return `owner ${this.process.owner}'s token budget reached: ${tokens} of ${owner.maxTokens} tokens used`;
    }
    if (owner.maxCostNanos !== null && cost >= owner.maxCostNanos) {
      return `owner ${this.process.owner}'s cost budget reached: $${formatUsd(cost)} of $${formatUsd(owner.maxCostNanos)} spent`;
    }
    return undefined;
  }

  private async othersAreReady(): Promise<boolean> {
    const result = await this.db.query(
      "select 1 from aos.processes where state = 'ready' and pid <> $1 limit 1",
      [this.lease.pid],
    );
    return result.rowCount > 0;
  }

  /** After any operation settles: when nothing is in flight, park, stop, yield or let go. */
  private scheduleCheck(): void {
    setImmediate(() => void this.check());
  }

  private async check(): Promise<void> {
    if (this.ended || this.checking || this.executing > 0) return;
    if (this.control.everything.signal.aborted) {
      this.checking = true;
      try {
        await this.killed();
      } catch (error) {
        this.failure(error);
      } finally {
        this.checking = false;
      }
      return;
    }
    if (this.ending === undefined && this.blocked.size === 0) return;
    this.checking = true;
    try {
      if (this.ending === 'stopped') await this.release('stopped');
      else if (this.ending !== undefined) await this.release('ready');
      else await this.park();
    } catch (error) {
      this.failure(error);
    } finally {
      this.checking = false;
    }
  }

  /** Parks the process on its blocked operations, unless a wake-up already came (then they look again). */
  private async park(): Promise<void> {
    await this.flushUncounted();
    const blocks = [...this.blocked.entries()];
    const reasons = new Set(blocks.map(([, block]) => block.reason));
    const wakeTimes = blocks.flatMap(([, block]) => (block.wakeAt === null ? [] : [block.wakeAt.getTime()]));
    const seen = blocks.flatMap(([, block]) => (block.seenWakeSeq === null ? [] : [block.seenWakeSeq]));
    const result = await this.write(() =>
      this.db.query<{ parked: string }>('select aos.park_process($1, $2, $3, $4, $5, $6, $7, $8) as parked', [
        this.lease.pid,
        this.lease.generation,
        blocks.every(([, block]) => block.state === 'sleeping') ? 'sleeping' : 'waiting',
        reasons.size === 1 ? [...reasons][0]! : 'several',
        JSON.stringify({
          calls: blocks.map(([op, block]) => ({
            op,
            callId: block.callId,
            reason: block.reason,
            ...block.detail,
          })),
        }),
        wakeTimes.length === 0 ? null : new Date(Math.min(...wakeTimes)),
        blocks.find(([, block]) => block.device !== undefined)?.[1].device ?? null,
        seen.length === 0 ? null : Math.min(...seen),
      ]),
    );
    if (result.rows[0]?.parked === 'parked') {
      this.end('blocked');
      return;
    }
    // Something came in meanwhile: the blocked operations look again on this slice.
    this.blocked.clear();
    const unblock = this.unblock;
    this.unblock = undefined;
    this.unblockedPromise = undefined;
    unblock?.();
  }

  private async release(state: 'ready' | 'stopped'): Promise<void> {
    await this.flushUncounted();
    const result = await this.db.query(
      `update aos.processes set state = $3, lease_owner = null, lease_expires_at = null, updated_at = now()
        where pid = $1 and lease_generation = $2 and state = 'running'`,
      [this.lease.pid, this.lease.generation, state],
    );
    if (result.rowCount === 0) {
      this.end('lease-lost');
      return;
    }
    this.end(this.ending ?? (state === 'stopped' ? 'stopped' : 'yielded'));
  }

  /** A failure while running an operation: lease lost, database unavailable, or a bug (the process ends). */
  private failure(error: unknown): LiveOutcome {
    if (error instanceof LeaseLostError || this.control.everything.signal.reason?.message === 'lease lost') {
      this.end('lease-lost');
      return { kind: 'ended' };
    }
    const aosError = toAosError(error);
    // The database is unreachable, or a statement waited too long for a lock or ran too long
    // (the worker's session bounds): the slice ends, the process is taken over later.
    if (aosError.code === 'unavailable' || aosError.code === 'timeout' || this.ended) {
      this.end(undefined, aosError);
      return { kind: 'ended' };
    }
    // A failure of the kernel itself on this process: end it rather than retry a deterministic bug forever.
    void this.exit(
      1,
      null,
      { code: aosError.code, message: aosError.message },
      exitStep('done', this.execution.position),
    ).catch((exitError: unknown) =>
      this.end(exitError instanceof LeaseLostError ? 'lease-lost' : undefined, exitError),
    );
    return { kind: 'ended' };
  }

  private end(outcome: SliceOutcome | undefined, error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.execution.detach(this);
    if (outcome === 'exited' || outcome === 'lease-lost' || outcome === undefined) this.execution.abandon();
    this.unblock?.();
    this.endedSignal();
    if (outcome === undefined) this.fail(error);
    else this.settle(outcome);
  }
}

/** Whether the process's last park was on operation `op` (so TERM interrupts it after a restart too). */
function blockedInDetail(process: ProcessRow, op: number): boolean {
  const calls = (process.wait_detail as { calls?: { op?: number }[] } | null)?.calls;
  return Array.isArray(calls) && calls.some((call) => call.op === op);
}

/** The call id of a tool operation: the model's, or one made from the position. */
export function callIdOf(spec: OperationSpec, op: number): string {
  return spec.callId ?? `op${op}`;
}

/**
 * How long before the lease's known expiry a worker stops vouching for it on its own
 * clock: covers the start of the work and the difference of clock rates; a quarter of the
 * lease, between 50 ms and 1 s.
 */
function vouchMarginMs(leaseMs: number): number {
  return Math.max(50, Math.min(leaseMs / 4, 1000));
}

/** Resolves at the next turn of the event loop, after every pending microtask. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function signalStep(signal: SignalName, op: number): StepRecord {
  return {
    kind: 'signal',
    name: signal,
    status: 'done',
    op,
    audit: { kind: 'signal-delivered', data: { signal } },
  };
}

function exitStep(status: 'done', op: number): StepRecord {
  return { kind: 'exit', status, op };
}

function killedError(message: string) {
  return { code: 'killed', message };
}

function limitError(message: string) {
  return { code: 'limit_exceeded', message };
}
