/**
 * Program crash tests on the PostgreSQL server, with real worker processes that import
 * test/crash/crash-programs.ts by path. Workers are SIGKILLed at chosen moments: inside
 * a step, between two steps, inside Promise.all branches, while a process sleeps and while
 * one waits in recv. Every program finishes with the right result, each step is journaled
 * once, and no step ran again after it was journaled as done.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../../src/kernel.js';
import { hasServer, postgresDatabase, warnWhenSkipped } from '../support/databases.js';

const leaseMs = 1000;
const workerScript = join(import.meta.dirname, 'worker-process.ts');
const programsModule = join(import.meta.dirname, 'crash-programs.ts');

interface WorkerProcess {
  child: ChildProcess;
  id: string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

warnWhenSkipped('the program crash tests (test/crash/program-crash.test.ts)');

describe.skipIf(!hasServer)('program crash tests on the server', () => {
  let kernel: Kernel;
  let url: string;
  let drop: () => Promise<void>;
  const workers: WorkerProcess[] = [];

  function startWorker(): Promise<WorkerProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', workerScript, url, String(leaseMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AOS_CRASH_DATABASE_URL: url },
    });
    return new Promise((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`worker exited early with ${code}`)));
      createInterface({ input: child.stdout! }).once('line', (id) => {
        const worker = { child, id };
        workers.push(worker);
        resolve(worker);
      });
    });
  }

  /** SIGKILLs the worker holding `pid`'s lease and starts another; returns the dead worker's id. */
  async function killHolderOf(pid: number): Promise<string> {
    const holder = await kernel.db.query<{ lease_owner: string | null }>(
      'select lease_owner from aos.processes where pid = $1',
      [pid],
    );
    const victim = workers.find((worker) => worker.id === holder.rows[0]?.lease_owner) ?? workers[0]!;
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => victim.child.once('exit', resolve));
    workers.splice(workers.indexOf(victim), 1);
    await startWorker();
    return victim.id;
  }

  beforeAll(async () => {
    const created = await postgresDatabase.create();
    url = created.url!;
    drop = created.drop;
    kernel = await createKernel({ db: created.db });
    await kernel.db.query(
      'create table crash_steps (id bigserial primary key, pid bigint not null, name text not null, at timestamptz not null default clock_timestamp())',
    );
  });

  afterAll(async () => {
    for (const worker of workers) worker.child.kill('SIGKILL');
    await drop?.();
  });

  /** Processes whose step `name` began (a crash_steps row) but is not journaled yet. */
  async function inFlight(pids: number[]): Promise<{ pid: number; name: string }[]> {
    const result = await kernel.db.query<{ pid: number; name: string }>(
      `select c.pid, c.name from crash_steps c
        where c.pid = any($1)
          and not exists (select 1 from aos.steps s where s.pid = c.pid and s.kind = 'step' and s.name = c.name and s.status = 'done')`,
      [pids],
    );
    return result.rows;
  }

  async function journaledSteps(pid: number): Promise<number> {
    const result = await kernel.db.query<{ count: number }>(
      "select count(*)::int as count from aos.steps where pid = $1 and kind = 'step' and status = 'done'",
      [pid],
    );
    return result.rows[0]!.count;
  }

  it('finishes every program right when workers die inside steps, between steps, in parallel branches, in sleep and in recv', async () => {
    await kernel.register(programsModule);
    for (let index = 0; index < 3; index++) await startWorker();
    const spawnAll = async (agent: string, count: number) => {
      const pids: number[] = [];
      for (let index = 0; index < count; index++) {
        pids.push((await kernel.call('spawn', { agent, input: `${agent}-${index}` })).pid);
      }
      return pids;
    };
    const kills: string[] = [];
    const sequences = await spawnAll('crash-sequence', 6);

    // Inside a step: a sequence whose step began and is not journaled yet.
    const inside = await until('a sequence inside a step', async () => {
      const flying = await inFlight(sequences);
      const candidate = flying.find((row) => row.name !== 's0');
      return candidate;
    });
    kills.push(`inside step ${inside.name} of process ${inside.pid}: ${await killHolderOf(inside.pid)}`);

    // Between steps: a sequence whose last step is journaled and whose next has not begun.
    const between = await until('a sequence between steps', async () => {
      for (const pid of sequences) {
        if (pid === inside.pid) continue;
        const journaled = await journaledSteps(pid);
        const begun = await kernel.db.query<{ count: number }>(
          'select count(distinct name)::int as count from crash_steps where pid = $1',
          [pid],
        );
        if (journaled >= 2 && journaled < 20 && begun.rows[0]!.count === journaled) return pid;
      }
      return undefined;
    });
    kills.push(`between steps of process ${between}: ${await killHolderOf(between)}`);

    // Inside Promise.all: a parallel program with a branch step journaled and another in flight.
    const parallels = await spawnAll('crash-parallel', 4);
    const branches = await until('parallel branches half done', async () => {
      for (const pid of parallels) {
        if ((await journaledSteps(pid)) >= 2 && (await inFlight([pid])).length > 0) return pid;
      }
      return undefined;
    });
    kills.push(`inside Promise.all of process ${branches}: ${await killHolderOf(branches)}`);

    // While a process sleeps, and while one waits in recv.
    const sleepers = await spawnAll('crash-sleeper', 3);
    await until('a sleeper asleep', async () => {
      const rows = await kernel.db.query(
        "select 1 from aos.processes where pid = any($1) and state = 'sleeping'",
        [sleepers],
      );
      return rows.rowCount > 0 ? true : undefined;
    });
    kills.push(`during sleep: ${await killHolderOf(sleepers[0]!)}`);
    const receivers = await spawnAll('crash-receiver', 3);
    await until('the receivers waiting', async () => {
      const rows = await kernel.db.query(
        "select 1 from aos.processes where pid = any($1) and state = 'waiting' and wait_reason = 'message'",
        [receivers],
      );
      return rows.rowCount === receivers.length ? true : undefined;
    });
    kills.push(`during recv: ${await killHolderOf(receivers[0]!)}`);
    for (const pid of receivers) await kernel.call('send', { pid, message: `hello ${pid}` });

    const expected = new Map<number, string>();
    for (const [index, pid] of sequences.entries()) expected.set(pid, `crash-sequence-${index}:190`);
    for (const [index, pid] of parallels.entries())
      expected.set(pid, `crash-parallel-${index}:aaaa-bbbb-cccc`);
    for (const [index, pid] of sleepers.entries()) expected.set(pid, `crash-sleeper-${index}:xy`);
    for (const [index, pid] of receivers.entries()) expected.set(pid, `crash-receiver-${index}:hello ${pid}`);
    for (const [pid, result] of expected) {
      const done = await kernel.call('wait', { pid, timeout: '90s' });
      expect({ pid, exitStatus: done.exitStatus, result: done.result }).toEqual({
        pid,
        exitStatus: 0,
        result,
      });
    }
    expect(kills).toHaveLength(5);

    // Each step journaled exactly once per process...
    const duplicates = await kernel.db.query(
      `select pid, name, count(*) from aos.steps where kind = 'step' and status = 'done'
        group by pid, name having count(*) > 1`,
    );
    expect(duplicates.rows).toEqual([]);
    // ...and no step body ran again after its result was journaled.
    const rerunAfterDone = await kernel.db.query(
      `select c.pid, c.name from crash_steps c join aos.steps s
           on s.pid = c.pid and s.kind = 'step' and s.name = c.name and s.status = 'done'
        where c.at > s.finished_at`,
    );
    expect(rerunAfterDone.rows).toEqual([]);
    // The step killed in flight ran again (its result was never journaled); it is the only kind of rerun.
    const ranTwice = await kernel.db.query<{ pid: number; name: string }>(
      'select pid, name from crash_steps group by pid, name having count(*) > 1',
    );
    expect(ranTwice.rows).toContainEqual({ pid: inside.pid, name: inside.name });
  }, 240_000);
});
