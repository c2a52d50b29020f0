/**
 * A worker: claims runnable processes, runs one slice of each at a time (up to its
 * concurrency), renews its leases by heartbeat, and passes signals that arrive by
 * NOTIFY to the slice they concern. Wakes on NOTIFY or an in-process poke, and
 * polls as a backstop. Any number of workers may share one database.
 */
import { hostname } from 'node:os';
import type { ModelResolver } from '../cpu/resolve-model.js';
import { TokenCounter } from '../cpu/token-counter.js';
import { toAosError } from '../errors.js';
import type { ToolRegistry } from '../io/tool-registry.js';
import type { Embedder } from '../memory/embedder.js';
import type { Db, DedicatedConnection } from '../storage/db.js';
import { workerSessionBounds } from '../storage/session-bounds.js';
import { chainAudit, drainAudit } from '../trust/audit.js';
import { checkpointConfigOf, writeCheckpoint } from '../trust/audit-checkpoints.js';
import type { AgentDefinition } from './agent-definition.js';
import { type EngineHost, Execution } from './execution.js';
import { drainExitEffects } from './exit-effects.js';
import { appendStep, type Lease, loadJournal, nextSeqOf } from './journal.js';
import { claimProcesses, type Renewal, reapExpiredZombies, releaseAll, renewLeases } from './lease.js';
import type { ProcessRow } from './process-table.js';
import type { ProgramCatalog } from './programs.js';
import { type SignalName, signalNames } from './signals.js';
import { Slice, type SliceOutcome } from './slice.js';
import { SliceControl } from './slice-control.js';
import { getAgentDefinition } from './spawn.js';

export interface WorkerOptions {
  /** Processes run at once; default 4. */
  concurrency?: number;
  /** Lease length; default 5 s. Heartbeats renew it every quarter of that. */
  leaseMs?: number;
  /** Longest sleep between claim attempts when nothing wakes the worker; default 500 ms. */
  pollMs?: number;
  /** Slice length before a process yields to other ready ones; default 2 s. */
  quantumMs?: number;
  /** Exited processes nobody waited for are reaped after this long; default 7 days. */
  retentionMs?: number;
  /** Sign and store an audit checkpoint this often when the log has grown (0: never); default 0. */
  checkpointEveryMs?: number;
  /**
   * Chain pending audit entries this often while running processes (and once after a
   * slice ends), ten times less often when idle (0: never); default 100 ms. The period
   * bounds how long an entry stays un-chained (not yet tamper-evident).
   */
  chainEveryMs?: number;
  id?: string;
  /** Called for each slice that starts and ends (for demos and logs). */
  onEvent?: (event: WorkerEvent) => void;
}

export type WorkerEvent =
  | { type: 'worker-started'; workerId: string }
  | { type: 'slice-started'; pid: number; generation: number; workerId: string }
  | { type: 'slice-ended'; pid: number; outcome: SliceOutcome; workerId: string }
  | { type: 'error'; pid?: number; message: string; workerId: string };

/** What a worker needs from the kernel. */
export interface WorkerHost {
  db: Db;
  tools: ToolRegistry;
  models: ModelResolver;
  /** The programs this kernel knows (and the module loader). */
  programs: ProgramCatalog;
  /** What memories (and pages) are embedded with. */
  embedder: Embedder;
  /** Registers a callback for in-process wake-ups; returns an unsubscribe function. */
  onPoke(listener: (pid?: number) => void): () => void;
  /** Wakes in-process waiters (a slice of `pid` ended: it may have exited). */
  poke(pid?: number): void;
  /** The folder for local files (audit key and checkpoints). */
  home: string;
  /** Exports the trace of a process that exited (OTLP), when configured. */
  exportTrace?: (pid: number) => Promise<unknown>;
}

interface ActiveSlice {
  generation: number;
  control: SliceControl;
  done: Promise<void>;
}

export class Worker {
  readonly id: string;
  private readonly concurrency: number;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly quantumMs: number;
  private readonly active = new Map<number, ActiveSlice>();
  private readonly definitions = new Map<string, Promise<AgentDefinition>>();
  private stopping = false;
  private wake: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private reaper: NodeJS.Timeout | undefined;
  private checkpointer: NodeJS.Timeout | undefined;
  private chainer: NodeJS.Timeout | undefined;
  private chaining: Promise<unknown> | undefined;
  /** A slice ended since the last chainer batch: its last entries may be pending. */
  private sliceEndedSinceChain = false;
  private readonly cleanups: (() => unknown)[] = [];
  private readonly engine: EngineHost;
  /** The worker's sessions (bounded by its lease), and the heartbeat's own connection. */
  private readonly db: Db;
  private heartbeatConnection: Promise<DedicatedConnection> | undefined;
  private renewing = false;
  private exitDrain: Promise<void> | undefined;
  private exitDrainAgain = false;
  private exitEffectsClosed = false;
  private exitEffects: NodeJS.Timeout | undefined;
  /** Executions of processes this worker ran, so their next slice goes on from memory instead of replaying. */
  private readonly executions = new Map<number, Execution>();

  constructor(
    private readonly host: WorkerHost,
    private readonly options: WorkerOptions = {},
  ) {
    this.id = options.id ?? `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
    this.concurrency = options.concurrency ?? 4;
    this.leaseMs = options.leaseMs ?? 5000;
    this.pollMs = options.pollMs ?? 500;
    this.quantumMs = options.quantumMs ?? 2000;
    // The worker's own sessions, bounded by its lease: a dead or frozen worker's locks are
    // gone within about a lease, so its processes can be taken over.
    this.db = host.db.bounded(workerSessionBounds(this.leaseMs));
    this.engine = {
      db: this.db,
      tools: host.tools,
      models: host.models,
      tokens: new TokenCounter(),
      embedder: host.embedder,
    };
  }

  /** Starts claiming work; resolves once the worker listens for wake-ups. */
  async start(): Promise<void> {
    const { db } = this.host;
    this.cleanups.push(this.host.onPoke(() => this.wake?.()));
    if (db.deliversNotifications) {
      this.cleanups.push(await db.listen('aos_wake', () => this.wake?.()));
      this.cleanups.push(
        await db.listen('aos_signal', (payload) => {
          const [pid, signal] = payload.split(' ');
          if (signalNames.includes(signal as SignalName)) {
            this.active.get(Number(pid))?.control.deliver(signal as SignalName);
          }
        }),
      );
    }
    this.heartbeat = setInterval(() => void this.renew(), Math.max(50, Math.floor(this.leaseMs / 4)));
    // Exits elsewhere (another worker's, KILL in SQL) are announced on aos_exit; the
    // interval catches those no notification reached (PGlite across processes).
    if (db.deliversNotifications)
      this.cleanups.push(await db.listen('aos_exit', () => void this.drainExits()));
    this.exitEffects = setInterval(() => void this.drainExits(), Math.max(1000, this.pollMs * 10));
    void this.drainExits();
    const retentionMs = this.options.retentionMs ?? 7 * 24 * 3_600_000;
    const reap = () =>
      reapExpiredZombies(this.db, retentionMs).catch((error: unknown) =>
        this.emit({
          type: 'error',
          message: `reaping failed: ${toAosError(error).message}`,
          workerId: this.id,
        }),
      );
    void reap();
    this.reaper = setInterval(() => void reap(), 60_000);
    const checkpointEvery = this.options.checkpointEveryMs ?? 0;
    if (checkpointEvery > 0) {
      let signedUpTo = -1;
      const checkpoint = async () => {
        try {
          const head = await this.db.query<{ id: number | null }>('select max(id) as id from aos.audit');
          if ((head.rows[0]?.id ?? 0) === signedUpTo) return;
          const written = await writeCheckpoint(this.db, await checkpointConfigOf(this.db, this.host.home));
          signedUpTo = written?.id ?? signedUpTo;
        } catch (error) {
          this.emit({
            type: 'error',
            message: `audit checkpoint failed: ${toAosError(error).message}`,
            workerId: this.id,
          });
        }
      };
      this.checkpointer = setInterval(() => void checkpoint(), checkpointEvery);
    }
    const chainEvery = this.options.chainEveryMs ?? 100;
    if (chainEvery > 0) {
      let lastChainAt = 0;
      const chain = () => {
        if (this.chaining !== undefined) return;
        const busy = this.active.size > 0 || this.sliceEndedSinceChain;
        if (!busy && Date.now() - lastChainAt < chainEvery * 10) return;
        lastChainAt = Date.now();
        this.sliceEndedSinceChain = false;
        // One batch per tick; a chainer already at work elsewhere makes this one skip.
        this.chaining = chainAudit(this.db, { wait: false })
          .catch((error: unknown) =>
            this.emit({
              type: 'error',
              message: `audit chaining failed: ${toAosError(error).message}`,
              workerId: this.id,
            }),
          )
          .finally(() => {
            this.chaining = undefined;
          });
      };
      this.chainer = setInterval(chain, chainEvery);
    }
    this.loopDone = this.loop();
    this.emit({ type: 'worker-started', workerId: this.id });
  }

  /** Processes running in this worker now. */
  get running(): number[] {
    return [...this.active.keys()];
  }

  /**
   * Stops claiming, lets each slice finish its current step, and gives its processes
   * back as ready; after `graceMs` (default 10 s) in-flight calls are aborted.
   */
  async stop(graceMs = 10_000): Promise<void> {
    if (this.stopping) return this.loopDone;
    this.stopping = true;
    this.wake?.();
    for (const slice of this.active.values()) slice.control.shuttingDown = true;
    const slices = Promise.all([...this.active.values()].map((slice) => slice.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      slices.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      for (const slice of this.active.values()) slice.control.leaseLost();
      await slices;
    }
    clearInterval(this.heartbeat);
    clearInterval(this.exitEffects);
    // One batch, not the whole backlog: the other workers (or the next start) take the rest.
    await this.exitDrain;
    await this.drainExits(true);
    this.exitEffectsClosed = true;
    clearInterval(this.reaper);
    clearInterval(this.checkpointer);
    clearInterval(this.chainer);
    await this.chaining;
    await this.loopDone;
    for (const cleanup of this.cleanups) await cleanup();
    await releaseAll(this.db, this.id).catch(() => 0);
    // Chain what the last slices appended, so it does not wait for the next chainer.
    if ((this.options.chainEveryMs ?? 100) > 0) await drainAudit(this.db).catch(() => 0);
    for (const execution of this.executions.values()) execution.abandon();
    this.executions.clear();
    await (await this.heartbeatConnection?.catch(() => undefined))?.close().catch(() => {});
    this.heartbeatConnection = undefined;
    if (this.db !== this.host.db) await this.db.close().catch(() => {});
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      const free = this.concurrency - this.active.size;
      let claimed: ProcessRow[] = [];
      if (free > 0) {
        const sentAt = performance.now();
        try {
          claimed = await claimProcesses(
            this.db,
            this.id,
            this.leaseMs,
            free,
            this.host.programs.localPrograms.map((program) => program.name),
          );
        } catch (error) {
          this.emit({ type: 'error', message: toAosError(error).message, workerId: this.id });
        }
        for (const row of claimed) this.startSlice(row, sentAt);
      }
      if (claimed.length > 0 && claimed.length === free) continue;
      await this.sleep(this.pollMs);
    }
  }

  /** Runs a slice of `row`, claimed by a statement sent at `claimSentAt` (performance.now()). */
  private startSlice(row: ProcessRow, claimSentAt: number): void {
    const control = new SliceControl();
    control.extended(claimSentAt, this.leaseMs);
    for (const signal of row.pending_signals) {
      if (signalNames.includes(signal as SignalName)) control.arrived.add(signal as SignalName);
    }
    const generation = row.lease_generation;
    this.emit({ type: 'slice-started', pid: row.pid, generation, workerId: this.id });
    const done = (async () => {
      const lease: Lease = { pid: row.pid, generation, leaseMs: this.leaseMs };
      try {
        const execution = await this.executionFor(row, lease);
        if (execution === undefined) {
          this.emit({ type: 'slice-ended', pid: row.pid, outcome: 'exited', workerId: this.id });
          void this.drainExits();
          return;
        }
        const slice = new Slice({ execution, process: row, lease, control, quantumMs: this.quantumMs });
        const outcome = await slice.start();
        if ((outcome === 'blocked' || outcome === 'stopped' || outcome === 'yielded') && !execution.ended) {
          this.executions.set(row.pid, execution);
          // Keep the most recent few hundred; the others replay from the journal when they run again.
          if (this.executions.size > 256) {
            const oldest = this.executions.keys().next().value!;
            this.executions.get(oldest)?.abandon();
            this.executions.delete(oldest);
          }
        } else {
          execution.abandon();
        }
        this.emit({ type: 'slice-ended', pid: row.pid, outcome, workerId: this.id });
        if (outcome === 'exited') void this.drainExits();
      } catch (error) {
        // The lease runs out and another worker (or this one) retries the process.
        this.emit({ type: 'error', pid: row.pid, message: toAosError(error).message, workerId: this.id });
      } finally {
        this.active.delete(row.pid);
        this.sliceEndedSinceChain = true;
        this.host.poke(row.pid);
      }
    })();
    this.active.set(row.pid, { generation, control, done });
  }

  /**
   * The execution to run a slice of `row` with: the one kept from this worker's last
   * slice when nobody wrote to the journal since, else a new one replaying the journal.
   * A process whose program cannot be found or whose tools are unknown exits with the
   * error (undefined is returned then).
   */
  private async executionFor(row: ProcessRow, lease: Lease): Promise<Execution | undefined> {
    const kept = this.executions.get(row.pid);
    this.executions.delete(row.pid);
    if (kept !== undefined && !kept.ended && kept.lastSeq === row.last_seq) return kept;
    kept?.abandon();
    const definition = await this.definition(row.agent_name, row.agent_version);
    let execution: Execution;
    try {
      const program = await this.host.programs.programFor(definition);
      const tools = this.host.tools.select(definition.tools, `agent ${definition.name}`);
      const journal = await loadJournal(this.db, row.pid);
      execution = new Execution({
        pid: row.pid,
        definition,
        program,
        input: row.input,
        model: row.model,
        journal,
        host: this.engine,
        tools,
      });
    } catch (error) {
      const aosError = toAosError(error);
      if (aosError.code === 'unavailable') throw aosError;
      await this.db.transaction(async (tx) => {
        // An exit wakes the parent: both rows are locked first, in pid order.
        if (row.ppid !== null) await tx.query('select aos.lock_processes($1)', [[row.ppid, row.pid]]);
        await appendStep(tx, lease, await nextSeqOf(tx, row.pid), { kind: 'exit', status: 'done' });
        await tx.query('select aos.exit_process($1, $2, $3, $4)', [
          row.pid,
          1,
          null,
          JSON.stringify({ code: aosError.code, message: aosError.message }),
        ]);
      });
      return undefined;
    }
    return execution;
  }

  private definition(name: string, version: number): Promise<AgentDefinition> {
    const key = `${name}@${version}`;
    let cached = this.definitions.get(key);
    if (cached === undefined) {
      cached = getAgentDefinition(this.db, name, version);
      cached.catch(() => this.definitions.delete(key));
      this.definitions.set(key, cached);
    }
    return cached;
  }

  private async renew(): Promise<void> {
    if (this.renewing) return; // the last beat is still on its way; its answer will do
    this.renewing = true;
    try {
      await this.renewHeld();
    } finally {
      this.renewing = false;
    }
  }

  private async renewHeld(): Promise<void> {
    const held = [...this.active.entries()].map(([pid, slice]) => ({ pid, generation: slice.generation }));
    if (held.length === 0) return;
    let renewed: Map<number, Renewal>;
    const sentAt = performance.now();
    try {
      // Its own connection: a heartbeat never waits for a pooled one behind the work.
      this.heartbeatConnection ??= this.db.connection();
      const connection = await this.heartbeatConnection.catch((error: unknown) => {
        this.heartbeatConnection = undefined;
        throw error;
      });
      renewed = await renewLeases(connection, this.id, this.leaseMs, held);
    } catch (error) {
      this.emit({
        type: 'error',
        message: `heartbeat failed: ${toAosError(error).message}`,
        workerId: this.id,
      });
      return;
    }
    for (const { pid, generation } of held) {
      const slice = this.active.get(pid);
      if (slice === undefined || slice.generation !== generation) continue;
      const renewal = renewed.get(pid) ?? { status: 'lost' };
      // Busy: a transaction holds the row (most often this worker's own write, which extends the lease).
      if (renewal.status === 'busy') continue;
      if (renewal.status === 'lost') {
        slice.control.leaseLost();
        continue;
      }
      slice.control.extended(sentAt, this.leaseMs);
      // Signals reach a slice by NOTIFY, with its journal writes, and here: a program of steps
      // alone (whose writes do not read them) and embedded workers (no NOTIFY) learn them this way.
      for (const signal of renewal.pendingSignals) {
        if (signalNames.includes(signal as SignalName)) slice.control.deliver(signal as SignalName);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /**
   * Drains the exit effects queue (episodes, trace exports) until it is empty; a call while a
   * drain runs makes it go round once more. Never fails a process or the worker.
   */
  private drainExits(once = false): Promise<void> {
    if (this.exitEffectsClosed) return Promise.resolve();
    if (this.exitDrain !== undefined) {
      this.exitDrainAgain = true;
      return this.exitDrain;
    }
    const limit = 50;
    const host = {
      db: this.db,
      embedder: this.host.embedder,
      ...(this.host.exportTrace === undefined ? {} : { exportTrace: this.host.exportTrace }),
    };
    const onFailure = (pid: number, what: string, error: unknown) =>
      this.emit({
        type: 'error',
        pid,
        message: `${what} failed: ${toAosError(error).message}`,
        workerId: this.id,
      });
    this.exitDrain = (async () => {
      try {
        let taken: number;
        do {
          this.exitDrainAgain = false;
          taken = await drainExitEffects(host, onFailure, limit);
        } while (!once && (this.exitDrainAgain || taken === limit));
      } catch (error) {
        this.emit({
          type: 'error',
          message: `exit effects failed: ${toAosError(error).message}`,
          workerId: this.id,
        });
      } finally {
        this.exitDrain = undefined;
      }
    })();
    return this.exitDrain;
  }

  private emit(event: WorkerEvent): void {
    this.options.onEvent?.(event);
  }
}
