/**
 * A child for frozen-session.test.ts: opens a bounded Db on the database at argv[2]
 * and, in one transaction, locks rows of the test's `rows` table, then either freezes
 * itself (SIGSTOP) holding row 1, or locks row 3 and then waits for row 2 (which the
 * test holds) until it is killed. Prints its backend pid on stdout before each step.
 */
import { createPostgresDb } from '../../src/storage/postgres-db.js';

const [url, mode] = process.argv.slice(2);
if (url === undefined || (mode !== 'freeze' && mode !== 'wait')) {
  throw new Error('usage: frozen-session-child.ts URL freeze|wait');
}

const say = (line: string) =>
  new Promise<void>((resolve) => process.stdout.write(`${line}\n`, () => resolve()));

const db = createPostgresDb({ connection: url, maxConnections: 1 }).bounded(
  mode === 'freeze'
    ? { lockTimeoutMs: 250, statementTimeoutMs: 60_000, idleInTransactionMs: 1000 }
    : // Long enough for the test to kill this process while its statement still waits.
      { lockTimeoutMs: 5000, statementTimeoutMs: 60_000, idleInTransactionMs: 1000 },
);

await db.transaction(async (tx) => {
  const pid = (await tx.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  if (mode === 'freeze') {
    await tx.query('select * from rows where id = 1 for update');
    await say(`locked ${pid}`);
    process.kill(process.pid, 'SIGSTOP');
    await new Promise(() => {});
  } else {
    await tx.query('select * from rows where id = 3 for update');
    await say(`waiting ${pid}`);
    await tx.query('select * from rows where id = 2 for update');
  }
});
