/**
 * A worker as its own OS process whose database misbehaves on purpose, for the crash
 * tests of issue 11. It runs a kernel on the server at argv[2] (programs come from the
 * modules registered in the database) over a FaultyDb (test/support/faulty-db.ts):
 *
 * - `shuffle`: the answers of journal writes reach the program after a random delay
 *   of up to 40 ms, so parallel writes complete out of the order they were numbered in.
 * - `stop-after:NAME`: right after the database answered the insert of program step
 *   NAME, before the program sees it, the worker stops itself with SIGSTOP (once).
 * - `plain`: no fault.
 *
 * Prints its worker id on the first line of stdout; SIGTERM stops it gracefully.
 *
 *   node --import tsx test/crash/faulty-worker.ts URL LEASE_MS MODE [CONCURRENCY]
 */
import { createKernel } from '../../src/kernel.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import { FaultyDb, type FaultyDbHooks, isJournalWrite, randomMs, sleep } from '../support/faulty-db.js';

const [url, lease = '1000', mode = 'plain', concurrency = '8'] = process.argv.slice(2);
if (url === undefined) throw new Error('usage: faulty-worker.ts URL LEASE_MS MODE [CONCURRENCY]');

function hooksFor(mode: string): FaultyDbHooks {
  if (mode === 'plain') return {};
  if (mode === 'shuffle') {
    return {
      async answered(query) {
        if (isJournalWrite(query)) await sleep(randomMs(0, 40));
      },
    };
  }
  if (mode.startsWith('stop-after:')) {
    const step = mode.slice('stop-after:'.length);
    let stopped = false;
    return {
      answered(query) {
        // appendProgramStep's parameters: pid, seq, name, ...
        if (stopped || query.options?.prepare !== 'aos_append_program_step' || query.params[2] !== step)
          return;
        stopped = true;
        process.kill(process.pid, 'SIGSTOP');
      },
    };
  }
  throw new Error(`unknown mode ${mode}`);
}

const db = new FaultyDb(createPostgresDb({ connection: url, maxConnections: 12 }), hooksFor(mode));
const kernel = await createKernel({ db, migrate: false });
const worker = kernel.createWorker({
  concurrency: Number(concurrency),
  leaseMs: Number(lease),
  pollMs: 100,
  quantumMs: 60_000,
});
await worker.start();
process.stdout.write(`${worker.id}\n`);
process.once('SIGTERM', () => {
  void worker.stop(2000).then(() => kernel.close());
});
