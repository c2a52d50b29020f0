/**
 * Issue 11, finding 5: a live worker keeps its leases while its database pool is busy.
 * The worker's pool has two connections and every transaction holds its connection a
 * few hundred milliseconds before doing its work, while processes fire bursts of
 * parallel sends and receives (transactional tools): the pool stays saturated. The
 * heartbeat (lease 1 s, every third of that) must still renew in time: no slice of the
 * live worker ends 'lease-lost', no step body runs twice, every process finishes with
 * its result. Server only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../../src/kernel.js';
import type { Worker, WorkerEvent } from '../../src/process/worker.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import { hasServer, postgresDatabase } from '../support/databases.js';
import { FaultyDb, randomMs, sleep } from '../support/faulty-db.js';
import { processEnds } from '../support/worker-processes.js';
import { closeRecording, crashStepsTable, expectedBurstsResult } from './recorded-programs.js';

if (!hasServer) {
  console.warn('SKIPPED: test/crash/heartbeat needs a PostgreSQL server: set AOS_TEST_DATABASE_URL');
}

const programsModule = new URL('./recorded-programs.ts', import.meta.url).pathname;
const processes = 3;

describe.skipIf(!hasServer)('the heartbeat of a worker whose pool is saturated', () => {
  let kernel: Kernel;
  let busy: Kernel | undefined;
  let worker: Worker | undefined;
  let drop: () => Promise<void>;
  let url: string;

  beforeAll(async () => {
    const created = await postgresDatabase.create();
    url = created.url!;
    drop = created.drop;
    kernel = await createKernel({ db: created.db });
    await kernel.db.query(crashStepsTable);
    // The step bodies of recorded-programs.ts write to crash_steps over their own pool.
    process.env.AOS_CRASH_DATABASE_URL = url;
  });

  afterAll(async () => {
    await worker?.stop(1000);
    await busy?.close();
    await closeRecording();
    await drop?.();
  });

  it('keeps every lease while transactions queue for the pool', async () => {
    await kernel.register(programsModule);
    const pids: number[] = [];
    for (let index = 0; index < processes; index++) {
      pids.push((await kernel.call('spawn', { agent: 'mailbox-bursts', input: `m${index}` })).pid);
    }
    const slow = new FaultyDb(createPostgresDb({ connection: url, maxConnections: 2 }), {
      // Holds the connection, but no row lock yet, before the transaction's work.
      transactionStarted: () => sleep(randomMs(200, 400)),
    });
    busy = await createKernel({ db: slow, migrate: false });
    const events: WorkerEvent[] = [];
    worker = busy.createWorker({
      concurrency: 8,
      leaseMs: 1000,
      pollMs: 50,
      quantumMs: 60_000,
      onEvent: (event) => events.push(event),
    });
    await worker.start();

    const deadline = Date.now() + 35_000;
    const exited = async () => {
      const rows = await kernel.db.query<{ count: number }>(
        "select count(*)::int as count from aos.processes where pid = any($1) and state = 'exited'",
        [pids],
      );
      return rows.rows[0]!.count === pids.length;
    };
    while (Date.now() < deadline && !(await exited())) await sleep(200);

    const lost = events.flatMap((event) =>
      event.type === 'slice-ended' && event.outcome === 'lease-lost' ? [`process ${event.pid}`] : [],
    );
    expect({ sliceEndedLeaseLost: lost }).toEqual({ sliceEndedLeaseLost: [] });
    const ranTwice = await kernel.db.query(
      'select pid, name, count(*)::int as runs from crash_steps group by pid, name having count(*) > 1 order by pid, name',
    );
    expect(ranTwice.rows).toEqual([]);
    expect(await processEnds(kernel.db, pids)).toEqual(
      pids.map((pid, index) => ({
        pid,
        state: 'exited',
        exit_status: 0,
        result: expectedBurstsResult(`m${index}`),
      })),
    );
  }, 80_000);
});
