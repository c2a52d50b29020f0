/**
 * Session bounds and conflict retries of the Db: the kernel's own timeouts on every
 * session (whatever the server's config says), bounded() and connection(), deadlocks
 * and serialization failures retried, lock waits and lost sessions reported as
 * retryable errors, and a dedicated connection that reconnects after it is terminated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import type { Db, Queryable } from '../src/storage/db.js';
import { openEmbeddedDatabase } from '../src/storage/embedded-database.js';
import { createPostgresDb } from '../src/storage/postgres-db.js';
import { hasServer, postgresDatabase, testDatabases } from './support/databases.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A function raising `sqlstate` on its first `failures` calls (a sequence counts the calls; it is never rolled back). */
async function flakyFunction(db: Db, sqlstate: string, failures: number): Promise<void> {
  await db.exec(`
    create sequence calls;
    create function flaky() returns int language plpgsql as $$
    begin
      if nextval('calls') <= ${failures} then raise exception 'simulated conflict' using errcode = '${sqlstate}'; end if;
      return 42;
    end $$;`);
}

async function calls(db: Db): Promise<number> {
  const result = await db.query<{ last_value: number; is_called: boolean }>(
    'select last_value, is_called from calls',
  );
  return result.rows[0]!.is_called ? Number(result.rows[0]!.last_value) : 0;
}

describe.each(testDatabases)('conflict retries and bounds on $name', (database) => {
  it('retries a statement and a transaction aborted by a serialization failure or a deadlock', async () => {
    const { db, drop } = await database.create();
    try {
      await flakyFunction(db, '40001', 2);
      expect((await db.query<{ flaky: number }>('select flaky()')).rows).toEqual([{ flaky: 42 }]);
      expect(await calls(db)).toBe(3);
      await db.exec("select setval('calls', 1, false)");
      await db.exec('create table notes (note text)');
      let runs = 0;
      const value = await db.transaction(async (tx) => {
        runs += 1;
        await tx.query("insert into notes values ('once')");
        return (await tx.query<{ flaky: number }>('select flaky()')).rows[0]!.flaky;
      });
      expect({ value, runs }).toEqual({ value: 42, runs: 3 });
      // Each failed run was rolled back whole: one row, from the run that committed.
      expect((await db.query('select * from notes')).rowCount).toBe(1);
    } finally {
      await drop();
    }
  });

  it('reports a conflict that persists as unavailable and retryable, after a few attempts', async () => {
    const { db, drop } = await database.create();
    try {
      await flakyFunction(db, '40P01', 1000);
      const error = await db.query('select flaky()').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AosError);
      expect(error).toMatchObject({ code: 'unavailable', retryable: true, details: { sqlstate: '40P01' } });
      expect((error as AosError).hint).toBeTruthy();
      const attempts = await calls(db);
      expect(attempts).toBeGreaterThan(1);
      expect(attempts).toBeLessThan(10);
    } finally {
      await drop();
    }
  });

  it('maps lock, statement and session timeouts by SQLSTATE', async () => {
    const { db, drop } = await database.create();
    try {
      const raised = (sqlstate: string) =>
        db
          .query(`do $$ begin raise exception 'simulated' using errcode = '${sqlstate}'; end $$`)
          .catch((caught: unknown) => caught);
      expect(await raised('55P03')).toMatchObject({ code: 'timeout', retryable: true });
      expect(await raised('57014')).toMatchObject({ code: 'timeout', retryable: true });
      expect(await raised('25P03')).toMatchObject({ code: 'unavailable', retryable: true });
      expect(await raised('57P05')).toMatchObject({ code: 'unavailable', retryable: true });
    } finally {
      await drop();
    }
  });

  it('has bounded() and connection() over the same data', async () => {
    const { db, drop } = await database.create();
    try {
      await db.exec('create table t (id int primary key); insert into t values (1)');
      const bounded = db.bounded({
        lockTimeoutMs: 250,
        statementTimeoutMs: 60_000,
        idleInTransactionMs: 1000,
      });
      const connection = await bounded.connection();
      try {
        expect((await bounded.query('select * from t')).rowCount).toBe(1);
        expect((await connection.query('select * from t')).rowCount).toBe(1);
        await connection.query('insert into t values (2)');
      } finally {
        await connection.close();
        if (bounded !== db) await bounded.close();
      }
      // Closing them leaves the original open.
      expect((await db.query('select * from t')).rowCount).toBe(2);
    } finally {
      await drop();
    }
  });
});

describe("the embedded database's socket (one PGlite session)", () => {
  it('sends no session bounds there: bounded() is the same Db, connection() runs on it', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aos-bounds-'));
    const db = await openEmbeddedDatabase(home);
    try {
      expect(db.kind).toBe('pglite');
      expect(db.bounded({ lockTimeoutMs: 250, statementTimeoutMs: 1000, idleInTransactionMs: 500 })).toBe(db);
      const connection = await db.connection();
      expect((await connection.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
      await connection.close();
      expect((await db.query('select 1')).rowCount).toBe(1);
    } finally {
      await db.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
});

if (!hasServer) {
  console.warn('SKIPPED: session bounds on the server (storage-bounds.test.ts) need AOS_TEST_DATABASE_URL');
}

describe.skipIf(!hasServer)('session bounds on the server', () => {
  async function show(target: Queryable, name: string): Promise<string> {
    const result = await target.query<Record<string, string>>(`show ${name}`);
    return Object.values(result.rows[0]!)[0]!;
  }

  async function serverDatabase() {
    const created = await postgresDatabase.create();
    const admin = new pg.Client({ connectionString: created.url });
    await admin.connect();
    return { ...created, admin };
  }

  it("sets the kernel's own timeouts and keepalives on every session, whatever the database's config", async () => {
    const { db, url, admin, drop } = await serverDatabase();
    try {
      const name = new URL(url!).pathname.slice(1);
      for (const setting of ['lock_timeout', 'statement_timeout', 'idle_in_transaction_session_timeout']) {
        await admin.query(`alter database ${name} set ${setting} = 0`);
      }
      await admin.query(`alter database ${name} set tcp_keepalives_idle = 7200`);
      // A session aos did not open has the database's config...
      const plain = new pg.Client({ connectionString: url });
      await plain.connect();
      expect((await plain.query('show lock_timeout')).rows[0].lock_timeout).toBe('0');
      await plain.end();
      // ...and aos's own sessions have their bounds.
      expect(await show(db, 'lock_timeout')).toBe('30s');
      expect(await show(db, 'statement_timeout')).toBe('5min');
      expect(await show(db, 'idle_in_transaction_session_timeout')).toBe('1min');
      expect(await show(db, 'tcp_keepalives_idle')).toBe('10');
      expect(await show(db, 'tcp_keepalives_interval')).toBe('5');
      expect(await show(db, 'tcp_keepalives_count')).toBe('3');
      expect(await db.transaction((tx) => show(tx, 'lock_timeout'))).toBe('30s');

      const bounded = db.bounded({
        lockTimeoutMs: 250,
        statementTimeoutMs: 60_000,
        idleInTransactionMs: 1000,
      });
      const connection = await bounded.connection();
      const ordinary = await db.connection();
      try {
        for (const target of [bounded, connection]) {
          expect(await show(target, 'lock_timeout')).toBe('250ms');
          expect(await show(target, 'statement_timeout')).toBe('1min');
          expect(await show(target, 'idle_in_transaction_session_timeout')).toBe('1s');
          expect(await show(target, 'tcp_keepalives_idle')).toBe('10');
        }
        expect(await show(ordinary, 'lock_timeout')).toBe('30s');
      } finally {
        await connection.close();
        await ordinary.close();
        await bounded.close();
      }
      // The bounded Db's close closed only its own pool.
      expect(await show(db, 'lock_timeout')).toBe('30s');

      // A URL's own `options` are kept, and the kernel's bounds still apply.
      const withOptions = new URL(url!);
      withOptions.searchParams.set('options', '-c search_path=elsewhere -c lock_timeout=0');
      const fromUrl = createPostgresDb({ connection: withOptions.toString(), maxConnections: 1 });
      try {
        expect(await show(fromUrl, 'search_path')).toBe('elsewhere');
        expect(await show(fromUrl, 'lock_timeout')).toBe('30s');
      } finally {
        await fromUrl.close();
      }
    } finally {
      await admin.end();
      await drop();
    }
  });

  it('retries a real deadlock between two transactions: both commit', async () => {
    const { db, admin, drop } = await serverDatabase();
    try {
      await db.exec(
        'create table accounts (id int primary key, n int not null); insert into accounts values (1, 0), (2, 0)',
      );
      let arrived = 0;
      let release!: () => void;
      const barrier = new Promise<void>((resolve) => {
        release = resolve;
      });
      let runs = 0;
      const transfer = (from: number, to: number) =>
        db.transaction(async (tx) => {
          runs += 1;
          await tx.query('update accounts set n = n + 1 where id = $1', [from]);
          // Both hold their first row before either asks for the other's (a retry passes straight on).
          arrived += 1;
          if (arrived === 2) release();
          await barrier;
          await tx.query('update accounts set n = n + 1 where id = $1', [to]);
        });
      await Promise.all([transfer(1, 2), transfer(2, 1)]);
      expect(runs).toBe(3);
      const rows = await db.query<{ id: number; n: number }>('select id, n from accounts order by id');
      expect(rows.rows).toEqual([
        { id: 1, n: 2 },
        { id: 2, n: 2 },
      ]);
    } finally {
      await admin.end();
      await drop();
    }
  });

  it('fails a lock wait past lock_timeout with timeout, and a session idle in a transaction with unavailable', async () => {
    const { db, admin, drop } = await serverDatabase();
    try {
      await db.exec('create table t (id int primary key); insert into t values (1)');
      await admin.query('begin');
      await admin.query('select * from t where id = 1 for update');
      const bounded = db.bounded({
        lockTimeoutMs: 100,
        statementTimeoutMs: 60_000,
        idleInTransactionMs: 300,
      });
      try {
        const waited = await bounded
          .query('select * from t where id = 1 for update')
          .catch((caught: unknown) => caught);
        expect(waited).toMatchObject({ code: 'timeout', retryable: true, details: { sqlstate: '55P03' } });
        await admin.query('rollback');
        let runs = 0;
        const idle = await bounded
          .transaction(async (tx) => {
            runs += 1;
            await tx.query('select * from t where id = 1 for update');
            await sleep(1500);
            await tx.query('select 1');
          })
          .catch((caught: unknown) => caught);
        // The server ended the session while no statement ran on it: no crash, a retryable error, not run again.
        expect(idle).toMatchObject({ code: 'unavailable', retryable: true });
        expect(runs).toBe(1);
        // Its lock is gone, and the pool works on.
        expect((await db.query('select * from t where id = 1 for update nowait')).rowCount).toBe(1);
        expect((await bounded.query('select 1')).rowCount).toBe(1);
      } finally {
        await bounded.close();
      }
    } finally {
      await admin.end();
      await drop();
    }
  });

  it('survives a pooled connection terminated while a transaction holds it', async () => {
    const { db, admin, drop } = await serverDatabase();
    try {
      const error = await db
        .transaction(async (tx) => {
          const pid = (await tx.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
          await admin.query('select pg_terminate_backend($1)', [pid]);
          // The termination arrives while no statement runs on this client: an 'error' event nothing awaits.
          await sleep(300);
          await tx.query('select 1');
        })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'unavailable' });
      expect((await db.query('select 1')).rowCount).toBe(1);
    } finally {
      await admin.end();
      await drop();
    }
  });

  it('reconnects a dedicated connection after its session is terminated; a statement in flight fails', async () => {
    const { db, admin, drop } = await serverDatabase();
    const connection = await db.connection();
    try {
      const backend = async () =>
        (await connection.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
      const terminate = async (pid: number) => {
        await admin.query('select pg_terminate_backend($1)', [pid]);
        for (let attempt = 0; attempt < 200; attempt++) {
          const left = await admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
          if (left.rowCount === 0) break;
          await sleep(25);
        }
        await sleep(200);
      };
      const first = await backend();
      await terminate(first);
      const second = await backend();
      expect(second).not.toBe(first);

      const inFlight = connection.query('select pg_sleep(30)').catch((caught: unknown) => caught);
      for (let attempt = 0; attempt < 200; attempt++) {
        const running = await admin.query(
          "select 1 from pg_stat_activity where pid = $1 and state = 'active'",
          [second],
        );
        if (running.rowCount === 1) break;
        await sleep(25);
      }
      await admin.query('select pg_terminate_backend($1)', [second]);
      expect(await inFlight).toMatchObject({ code: 'unavailable' });
      const third = await backend();
      expect([first, second]).not.toContain(third);
    } finally {
      await connection.close();
      await admin.end();
      await drop();
    }
  });
});
