/**
 * Workers as real OS processes for the crash tests: start test/crash/faulty-worker.ts
 * with a fault mode, learn its worker id, and kill them all when the test ends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll } from 'vitest';
import { createKernel, type Kernel } from '../../src/kernel.js';
import type { Queryable } from '../../src/storage/db.js';
import { postgresDatabase } from './databases.js';

const faultyWorkerScript = join(import.meta.dirname, '..', 'crash', 'faulty-worker.ts');

/** A worker OS process and its worker id. */
export interface WorkerProcess {
  child: ChildProcess;
  id: string;
}

/** Starts faulty-worker.ts on `url` in `mode` (see that file); resolves once it prints its worker id. */
export function startFaultyWorker(
  url: string,
  options: { leaseMs: number; mode: string; concurrency?: number },
): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      faultyWorkerScript,
      url,
      String(options.leaseMs),
      options.mode,
      String(options.concurrency ?? 8),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AOS_CRASH_DATABASE_URL: url } },
  );
  return new Promise((resolve, reject) => {
    child.once('exit', (code, signal) => reject(new Error(`worker exited early with ${code ?? signal}`)));
    createInterface({ input: child.stdout! }).once('line', (id) => resolve({ child, id }));
  });
}

/** SIGKILLs `worker` and resolves once it is gone. */
export async function killWorker(worker: WorkerProcess): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const gone = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGCONT');
  worker.child.kill('SIGKILL');
  await gone;
}

/** How processes `pids` ended, in pid order: state, exit status and result (to compare with what each should return). */
export async function processEnds(
  db: Queryable,
  pids: number[],
): Promise<{ pid: number; state: string; exit_status: number | null; result: unknown }[]> {
  const rows = await db.query<{ pid: number; state: string; exit_status: number | null; result: unknown }>(
    'select pid, state, exit_status, result from aos.processes where pid = any($1) order by pid',
    [pids],
  );
  return rows.rows;
}

/** A kernel on a fresh server database, its URL for worker processes, and the workers a test started. */
export interface ServerKernel {
  kernel: Kernel;
  url: string;
  workers: WorkerProcess[];
}

/**
 * For a describe block on the server: a kernel on a fresh database, made before its
 * tests (then `setup` runs, e.g. for side tables); after them, the workers pushed to
 * `workers` are killed and the database dropped. Read the fields inside the tests.
 */
export function serverKernel(setup?: (kernel: Kernel) => Promise<unknown>): ServerKernel {
  const server = { workers: [] as WorkerProcess[] } as ServerKernel;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await postgresDatabase.create();
    drop = created.drop;
    server.url = created.url!;
    server.kernel = await createKernel({ db: created.db });
    await setup?.(server.kernel);
  });
  afterAll(async () => {
    for (const worker of server.workers) await killWorker(worker);
    await drop?.();
  });
  return server;
}
