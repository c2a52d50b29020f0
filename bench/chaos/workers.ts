/**
 * The `aos worker` OS processes of bench/chaos: started from the real CLI with --json,
 * their JSON-lines events timestamped on arrival, SIGKILLed, SIGSTOPped and SIGCONTed
 * by the harness. A worker's id is "host:ospid:random", so its OS pid finds its leases.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One event a worker printed, with the harness's clock when the line arrived. */
export interface ObservedEvent {
  at: number;
  /** The OS pid of the worker that printed it. */
  worker: number;
  type: string;
  pid?: number;
  generation?: number;
  outcome?: string;
  message?: string;
}

export interface ChaosWorker {
  child: ChildProcess;
  osPid: number;
  startedAt: number;
  /** When it said it claims work (its worker-started event). */
  readyAt?: number;
  killedAt?: number;
  stoppedAt?: number;
  continuedAt?: number;
  exited: Promise<void>;
}

export interface FleetOptions {
  cli: string;
  programs: string;
  databaseUrl: string;
  leaseMs: number;
  concurrency: number;
  pollMs: number;
}

export class WorkerFleet {
  readonly events: ObservedEvent[] = [];
  readonly all: ChaosWorker[] = [];
  readonly stderr: string[] = [];

  constructor(private readonly options: FleetOptions) {}

  /** Workers not killed and not exited. */
  live(): ChaosWorker[] {
    return this.all.filter((worker) => worker.killedAt === undefined && worker.child.exitCode === null);
  }

  /** Starts one worker; resolves once it has spawned (it claims work within a poll). */
  start(): ChaosWorker {
    const { options } = this;
    const child = spawn(
      process.execPath,
      [
        options.cli,
        'worker',
        '--json',
        '--lease',
        `${options.leaseMs}ms`,
        '--poll',
        `${options.pollMs}ms`,
        '--concurrency',
        String(options.concurrency),
        '--programs',
        options.programs,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          AOS_DATABASE_URL: options.databaseUrl,
          AOS_CHAOS_DATABASE_URL: options.databaseUrl,
        },
      },
    );
    const osPid = child.pid ?? -1;
    const worker: ChaosWorker = {
      child,
      osPid,
      startedAt: Date.now(),
      exited: new Promise((resolve) => child.once('exit', () => resolve())),
    };
    createInterface({ input: child.stdout! }).on('line', (line) => this.observe(osPid, line));
    createInterface({ input: child.stderr! }).on('line', (line) => {
      if (this.stderr.length < 200) this.stderr.push(`[${osPid}] ${line}`);
    });
    this.all.push(worker);
    return worker;
  }

  private observe(osPid: number, line: string): void {
    const at = Date.now();
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    if (typeof value.type !== 'string') return;
    if (value.type === 'worker-started') {
      const worker = this.all.find((each) => each.osPid === osPid);
      if (worker !== undefined) worker.readyAt = at;
    }
    this.events.push({
      at,
      worker: osPid,
      type: value.type,
      ...(typeof value.pid === 'number' ? { pid: value.pid } : {}),
      ...(typeof value.generation === 'number' ? { generation: value.generation } : {}),
      ...(typeof value.outcome === 'string' ? { outcome: value.outcome } : {}),
      ...(typeof value.message === 'string' ? { message: value.message } : {}),
    });
  }

  kill(worker: ChaosWorker): void {
    worker.killedAt = Date.now();
    worker.child.kill('SIGKILL');
  }

  stop(worker: ChaosWorker): void {
    worker.stoppedAt = Date.now();
    worker.child.kill('SIGSTOP');
  }

  resume(worker: ChaosWorker): void {
    worker.continuedAt = Date.now();
    worker.child.kill('SIGCONT');
  }

  /** SIGTERMs the live workers (SIGKILL after `graceMs`) and waits for all to exit. */
  async shutdown(graceMs = 5000): Promise<void> {
    const live = this.all.filter(
      (worker) => worker.child.exitCode === null && worker.child.signalCode === null,
    );
    for (const worker of live) {
      worker.child.kill('SIGCONT');
      worker.child.kill('SIGTERM');
    }
    const timer = setTimeout(() => {
      for (const worker of live) worker.child.kill('SIGKILL');
    }, graceMs);
    await Promise.all(live.map((worker) => worker.exited));
    clearTimeout(timer);
  }

  /** SIGKILLs every worker still running (on an error or SIGINT). */
  killAll(): void {
    for (const worker of this.all) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  }
}

/** C child processes that each spin a CPU (`for(;;){}`), for machine load; `stop()` kills them. */
export function startCpuBurners(count: number): { stop(): void } {
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
  return {
    stop() {
      for (const child of children) child.kill('SIGKILL');
    },
  };
}
