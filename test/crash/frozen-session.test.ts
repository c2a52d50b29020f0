/**
 * Crash tests of session bounds on the PostgreSQL server, with real child processes:
 * - a worker frozen (SIGSTOP) inside a transaction holding a row lock: the server ends
 *   its session (idle_in_transaction_session_timeout) and the row can be locked while
 *   the child is still stopped;
 * - a worker killed (SIGKILL) while its statement waits for a lock, holding another:
 *   its backend gives up the wait (lock_timeout) and that row can be locked while the
 *   test still holds the lock the dead worker waited for.
 * Liveness checks: each lock is awaited up to a generous deadline, never timed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasServer, postgresDatabase } from '../support/databases.js';

const childScript = join(import.meta.dirname, 'frozen-session-child.ts');
const deadline = '15s';

if (!hasServer) {
  console.warn(
    'SKIPPED: frozen and killed sessions (test/crash/frozen-session.test.ts) need AOS_TEST_DATABASE_URL',
  );
}

describe.skipIf(!hasServer)('a frozen or killed worker does not hold its locks', () => {
  const children: ChildProcess[] = [];
  const clients: pg.Client[] = [];
  let url: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await postgresDatabase.create();
    url = created.url!;
    drop = created.drop;
    await created.db.exec('create table rows (id int primary key); insert into rows values (1), (2), (3)');
  });

  afterAll(async () => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const client of clients) await client.end().catch(() => {});
    await drop?.();
  });

  /** Starts a child and resolves to its first line of output. */
  function startChild(mode: 'freeze' | 'wait'): Promise<{ child: ChildProcess; line: string }> {
    const child = spawn(process.execPath, ['--import', 'tsx', childScript, url, mode], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`child exited early with ${code ?? signal}`)));
      createInterface({ input: child.stdout! }).once('line', (line) => resolve({ child, line }));
    });
  }

  /** A plain session (no aos bounds) that waits for locks up to the deadline. */
  async function session(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => {});
    await client.connect();
    clients.push(client);
    await client.query(`set lock_timeout = '${deadline}'`);
    return client;
  }

  function processState(pid: number): string {
    // The third field of /proc/PID/stat: T when stopped.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0]!;
  }

  it('frees the rows of a worker frozen inside a transaction, while it is still stopped', async () => {
    const { child, line } = await startChild('freeze');
    expect(line).toMatch(/^locked \d+$/);
    const tester = await session();
    await tester.query('begin');
    const locked = await tester.query('select * from rows where id = 1 for update');
    expect(locked.rowCount).toBe(1);
    expect(processState(child.pid!)).toBe('T');
    await tester.query('rollback');
    child.kill('SIGKILL');
  });

  it('frees the rows of a worker killed while its statement waits for a lock', async () => {
    const holder = await session();
    await holder.query('begin');
    await holder.query('select * from rows where id = 2 for update');
    const { child, line } = await startChild('wait');
    const backend = Number(line.split(' ')[1]);
    expect(line).toMatch(/^waiting \d+$/);
    // Kill it only once its backend waits for row 2.
    let waited = false;
    for (let attempt = 0; attempt < 400 && !waited; attempt++) {
      const waiting = await holder.query(
        "select 1 from pg_stat_activity where pid = $1 and wait_event_type = 'Lock'",
        [backend],
      );
      waited = waiting.rowCount === 1;
      if (!waited) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(waited).toBe(true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Killed, not ended by its own lock timeout: its backend was left waiting.
    expect(child.signalCode).toBe('SIGKILL');
    const tester = await session();
    await tester.query('begin');
    expect((await tester.query('select * from rows where id = 3 for update')).rowCount).toBe(1);
    await tester.query('rollback');
    await holder.query('rollback');
  });
});
