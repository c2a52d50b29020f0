/**
 * Issue 11, finding 1: parallel operations replay in the order the program saw them.
 * A program runs four branches of ctx.steps in Promise.all over a database that
 * answers journal writes after random delays, so writes sent in one order complete in
 * another (as parallel writes over a pool do). The journal must still let a replay
 * reproduce the run: `aos replay` reports it identical (PGlite and the server), and a
 * worker that takes over from a SIGKILLed one finishes every process with the right
 * result instead of stopping it as diverged (server).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../../src/kernel.js';
import type { Worker } from '../../src/process/worker.js';
import { hasServer, testDatabases } from '../support/databases.js';
import { FaultyDb, isJournalWrite, randomMs, sleep } from '../support/faulty-db.js';
import { eventually } from '../support/kernel.js';
import { killWorker, serverKernel, startFaultyWorker } from '../support/worker-processes.js';
import { expectedBranchesResult, parallelBranches } from './parallel-programs.js';

if (!hasServer) {
  console.warn(
    'SKIPPED: the worker-takeover part of test/crash/parallel-order needs a PostgreSQL server: set AOS_TEST_DATABASE_URL',
  );
}

const programsModule = new URL('./parallel-programs.ts', import.meta.url).pathname;

/** How each process ended, with the divergence message when it was stopped. */
async function endings(kernel: Kernel, pids: number[]) {
  const rows = await kernel.db.query<{
    pid: number;
    state: string;
    wait_reason: string | null;
    exit_status: number | null;
    result: unknown;
    message: string | null;
  }>(
    `select pid, state, wait_reason, exit_status, result, wait_detail ->> 'message' as message
       from aos.processes where pid = any($1) order by pid`,
    [pids],
  );
  return rows.rows;
}

describe.each(testDatabases)('parallel steps answered out of order on $name', (database) => {
  let worker: Worker | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await worker?.stop(1000);
    await drop?.(); // closes the kernel's database too
    worker = undefined;
    drop = undefined;
  });

  it('replays identically to the live run', async () => {
    const created = await database.create();
    drop = created.drop;
    const db = new FaultyDb(created.db, {
      async answered(query) {
        if (isJournalWrite(query)) await sleep(randomMs(0, 15));
      },
    });
    const kernel = await createKernel({ db, programs: [parallelBranches] });
    worker = kernel.createWorker({ concurrency: 4, leaseMs: 5000, pollMs: 50, quantumMs: 60_000 });
    await worker.start();
    const input = '4x6x5';
    const pids: number[] = [];
    for (let index = 0; index < 3; index++) {
      pids.push((await kernel.call('spawn', { agent: 'parallel-branches', input })).pid);
    }
    for (const pid of pids) {
      expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({
        exitStatus: 0,
        result: expectedBranchesResult(input),
      });
    }
    await worker.stop(1000);
    for (const pid of pids) {
      const report = await kernel.call('replay', { pid });
      expect({ pid, differences: report.differences }).toEqual({ pid, differences: [] });
      expect(report).toMatchObject({ identical: true, operations: 24 });
    }
  }, 60_000);
});

describe.skipIf(!hasServer)('a worker takes over parallel steps answered out of order', () => {
  const server = serverKernel();

  it('finishes every process with its result after the first worker is SIGKILLed', async () => {
    const { kernel, url, workers } = server;
    await kernel.register(programsModule);
    const first = await startFaultyWorker(url, { leaseMs: 1000, mode: 'shuffle' });
    workers.push(first);
    const input = '4x10x40';
    const pids: number[] = [];
    for (let index = 0; index < 6; index++) {
      pids.push((await kernel.call('spawn', { agent: 'parallel-branches', input })).pid);
    }
    // Kill the worker once each process has journaled some steps and none has finished.
    await eventually(
      'every process a third of the way',
      async () => {
        const rows = await kernel.db.query<{ pid: number; steps: number }>(
          `select p.pid, (select count(*)::int from aos.steps s where s.pid = p.pid and s.kind = 'step') as steps
             from aos.processes p where p.pid = any($1)`,
          [pids],
        );
        return rows.rows.every((row) => row.steps >= 12) ? true : undefined;
      },
      30_000,
    );
    await killWorker(first);
    workers.push(await startFaultyWorker(url, { leaseMs: 1000, mode: 'plain' }));
    await eventually(
      'every process to exit or stop',
      async () => {
        const rows = await endings(kernel, pids);
        return rows.every((row) => row.state === 'exited' || row.state === 'stopped') ? true : undefined;
      },
      40_000,
    );
    expect(await endings(kernel, pids)).toEqual(
      pids.map((pid) => ({
        pid,
        state: 'exited',
        wait_reason: null,
        exit_status: 0,
        result: expectedBranchesResult(input),
        message: null,
      })),
    );
    // Each step journaled once.
    const duplicates = await kernel.db.query(
      "select pid, name from aos.steps where kind = 'step' and pid = any($1) group by pid, name having count(*) > 1",
      [pids],
    );
    expect(duplicates.rows).toEqual([]);
  }, 90_000);
});
