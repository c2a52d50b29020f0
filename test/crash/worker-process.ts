/**
 * A worker as its own OS process, for the crash tests: a kernel on the server at
 * argv[2] with a non-idempotent `record` tool that writes one row per execution to a
 * side table, so a test can count how often each call really ran.
 * Prints its worker id on the first line of stdout; SIGTERM stops it gracefully.
 *
 *   node --import tsx test/crash/worker-process.ts URL [leaseMs]
 */
import { z } from 'zod';
import { defineTool, textResult } from '../../src/io/tool.js';
import { createKernel } from '../../src/kernel.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';

const url = process.argv[2];
const leaseMs = Number(process.argv[3] ?? 1000);
if (url === undefined) throw new Error('usage: worker-process.ts URL [leaseMs]');

const record = defineTool({
  name: 'record',
  description: 'Records one execution in crash_side and returns n doubled.',
  input: z.object({ n: z.number().int() }),
  annotations: {},
  async run(input, context) {
    await context.db.query('insert into crash_side (pid, call_id, n) values ($1, $2, $3)', [
      context.pid,
      context.callId,
      input.n,
    ]);
    return textResult(String(input.n * 2));
  },
});

const db = createPostgresDb({ connection: url, maxConnections: 12 });
const kernel = await createKernel({ db, tools: [record], migrate: false });
const worker = kernel.createWorker({ concurrency: 10, leaseMs, pollMs: 100, quantumMs: 60_000 });
await worker.start();
process.stdout.write(`${worker.id}\n`);
process.once('SIGTERM', () => {
  void worker.stop(2000).then(() => kernel.close());
});
