/**
 * Issue 11, finding 4: lease renewals, exits and sends never deadlock. Three worker
 * processes with short leases (300 ms, renewed every 100 ms) run parents that spawn
 * children which exit at once, and pairs of processes that send to each other at the
 * same moment, round after round. PostgreSQL must count no deadlock in the test's
 * database (pg_stat_database.deadlocks), and every process must finish with its
 * result. Server only.
 */
import { describe, expect, it } from 'vitest';
import { hasServer } from '../support/databases.js';
import { sleep } from '../support/faulty-db.js';
import { killWorker, processEnds, serverKernel, startFaultyWorker } from '../support/worker-processes.js';
import { expectedPairResult } from './deadlock-programs.js';

if (!hasServer) {
  console.warn('SKIPPED: test/crash/deadlocks needs a PostgreSQL server: set AOS_TEST_DATABASE_URL');
}

const programsModule = new URL('./deadlock-programs.ts', import.meta.url).pathname;
const parents = 6;

describe.skipIf(!hasServer)('lease renewals under exits and crossed sends', () => {
  const server = serverKernel();

  /** Deadlocks PostgreSQL detected in this test's database so far. */
  async function deadlocks(): Promise<number> {
    const { kernel } = server;
    await kernel.db.query('select pg_stat_clear_snapshot()');
    const row = await kernel.db.query<{ deadlocks: number }>(
      'select deadlocks::int as deadlocks from pg_stat_database where datname = current_database()',
    );
    return row.rows[0]!.deadlocks;
  }

  it('detects no deadlock and finishes every process', async () => {
    const { kernel, url, workers } = server;
    await kernel.register(programsModule);
    const before = await deadlocks();
    for (let index = 0; index < 3; index++) {
      workers.push(await startFaultyWorker(url, { leaseMs: 300, mode: 'plain', concurrency: 10 }));
    }
    const pids: number[] = [];
    for (let index = 0; index < parents; index++) {
      pids.push((await kernel.call('spawn', { agent: 'pair-parent', input: `p${index}` })).pid);
    }
    // Until every parent has exited, or a deadline (a process a deadlock broke may never finish).
    const deadline = Date.now() + 35_000;
    const ended = async () => {
      const rows = await kernel.db.query<{ count: number }>(
        "select count(*)::int as count from aos.processes where pid = any($1) and state = 'exited'",
        [pids],
      );
      return rows.rows[0]!.count === pids.length;
    };
    while (Date.now() < deadline && !(await ended())) await sleep(200);
    // Closing the workers' sessions makes their backends report their statistics; then they take a moment to show.
    for (const worker of workers.splice(0)) await killWorker(worker);
    await sleep(1500);
    expect({ deadlocks: (await deadlocks()) - before }).toEqual({ deadlocks: 0 });

    expect(await processEnds(kernel.db, pids)).toEqual(
      pids.map((pid, index) => ({
        pid,
        state: 'exited',
        exit_status: 0,
        result: expectedPairResult(`p${index}`),
      })),
    );
    // The children too: every process of the run exited with status 0.
    const failed = await kernel.db.query(
      "select pid, agent_name, state, exit_status, error from aos.processes where state <> 'exited' or exit_status <> 0",
    );
    expect(failed.rows).toEqual([]);
  }, 90_000);
});
