/** The Db contract on both implementations, migrations, and an unreachable server. */
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { createKernel } from '../src/kernel.js';
import { checkSchemaVersion, loadMigrations, migrate } from '../src/storage/migrate.js';
import { openDatabase } from '../src/storage/open-database.js';
import { createPostgresDb } from '../src/storage/postgres-db.js';
import { hasServer, testDatabases } from './support/databases.js';

describe.each(testDatabases)('the Db contract on $name', (database) => {
  it('runs statements, scripts and transactions that commit or roll back', async () => {
    const { db, drop } = await database.create();
    try {
      await db.exec('create table t (id int primary key, note text); insert into t values (1, $$one$$);');
      expect((await db.query<{ note: string }>('select note from t where id = $1', [1])).rows).toEqual([
        { note: 'one' },
      ]);
      expect((await db.query('select * from t')).rowCount).toBe(1);
      expect((await db.query("update t set note = 'uno'")).rowCount).toBe(1);
      await db.transaction(async (tx) => {
        await tx.query('insert into t values (2, $1)', ['two']);
      });
      await expect(
        db.transaction(async (tx) => {
          await tx.query('insert into t values (3, $1)', ['three']);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(
        (await db.query<{ id: number }>('select id from t order by id')).rows.map((row) => row.id),
      ).toEqual([1, 2]);
      const duplicate = await db
        .query('insert into t values (1, $1)', ['again'])
        .catch((error: unknown) => error);
      expect((duplicate as { code?: string }).code).toBe('23505');
    } finally {
      await drop();
    }
  });

  it('delivers NOTIFY to listen, only once committed, and no more after unsubscribing', async () => {
    const { db, drop } = await database.create();
    try {
      const received: string[] = [];
      const marks: string[] = [];
      const arrived = async (list: string[], count: number) => {
        for (let attempt = 0; attempt < 250 && list.length < count; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      expect(db.deliversNotifications).toBe(true);
      const stop = await db.listen('aos_test', (payload) => received.push(payload));
      const stopMarks = await db.listen('aos_test_mark', (payload) => marks.push(payload));
      await db.query("select pg_notify('aos_test', 'hello')");
      await expect(
        db.transaction(async (tx) => {
          await tx.query("select pg_notify('aos_test', 'rolled back')");
          throw new Error('abandon');
        }),
      ).rejects.toThrow('abandon');
      await db.query("select pg_notify('aos_test_mark', 'one')");
      await arrived(marks, 1);
      expect(received).toEqual(['hello']);
      // Notifications arrive in commit order: once the second mark is in, a notification sent before it would be too.
      await stop();
      await db.query("select pg_notify('aos_test', 'unheard')");
      await db.query("select pg_notify('aos_test_mark', 'two')");
      await arrived(marks, 2);
      await stopMarks();
      expect(marks).toEqual(['one', 'two']);
      expect(received).toEqual(['hello']);
    } finally {
      await drop();
    }
  });

  it('maps errors raised by aos SQL functions to AosError codes', async () => {
    const { db, drop } = await database.create();
    try {
      await migrate(db);
      const error = await db
        .query("select aos.signal_process(12345, 'TERM')")
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AosError);
      expect((error as AosError).code).toBe('not_found');
      expect((error as AosError).hint).toMatch(/aos ps/);
      const codeOf = (sql: string) =>
        db.query(sql).then(
          () => 'ok',
          (caught: unknown) => (caught instanceof AosError ? caught.code : String(caught)),
        );
      // AOSIN: a bad argument, before any lookup.
      expect(await codeOf("select aos.signal_process(1, 'HUP')")).toBe('invalid_input');
      // AOSCF: the state forbids it (a process that has exited).
      await db.query("select aos.register_agent('a', 'digest', '{}', null)");
      const pid = (await db.query<{ pid: number }>("select aos.spawn('a') as pid")).rows[0]!.pid;
      await db.query('select aos.exit_process($1, 0, null, null)', [pid]);
      expect(await codeOf(`select aos.signal_process(${pid}, 'TERM')`)).toBe('conflict');
      // Inside a transaction too, and the transaction rolls back.
      const inside = await db
        .transaction(async (tx) => {
          await tx.query("select aos.register_agent('b', 'digest', '{}', null)");
          await tx.query("select aos.spawn('nobody')");
        })
        .catch((caught: unknown) => caught);
      expect(inside).toMatchObject({ code: 'not_found' });
      expect((await db.query("select 1 from aos.agents where name = 'b'")).rowCount).toBe(0);
      // Other errors keep their SQLSTATE.
      const syntax = await db.query('select from from').catch((caught: unknown) => caught);
      expect(syntax).not.toBeInstanceOf(AosError);
      expect((syntax as { code?: string }).code).toBe('42601');
    } finally {
      await drop();
    }
  });

  it('migrates once, safely when two migrate at once, and refuses a newer schema', async () => {
    const { db, url, drop } = await database.create();
    const second = url === undefined ? db : createPostgresDb({ connection: url });
    try {
      const [first, other] = await Promise.all([migrate(db), migrate(second)]);
      const all = loadMigrations().map((migration) => migration.id);
      expect([...first, ...other].sort((left, right) => left - right)).toEqual(all);
      expect(await migrate(db)).toEqual([]);
      expect(await checkSchemaVersion(db)).toBe(all.at(-1));
      await db.query("insert into aos.migrations (id, name) values (9999, 'from the future')");
      const refused = await createKernel({ db }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AosError);
      expect((refused as AosError).code).toBe('conflict');
      expect((refused as AosError).message).toMatch(/newer than this aos/);
    } finally {
      if (second !== db) await second.close();
      await drop();
    }
  });
});

describe('an unreachable database', () => {
  it('is unavailable, with a hint', async () => {
    const error = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/nowhere' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AosError);
    expect((error as AosError).code).toBe('unavailable');
    expect((error as AosError).hint).toMatch(/AOS_DATABASE_URL/);
  });

  it.skipIf(!hasServer)('is unavailable when the server has no such database', async () => {
    const url = new URL(process.env.AOS_TEST_DATABASE_URL!);
    url.pathname = '/aos_no_such_database';
    const error = await openDatabase({ url: url.toString() }).catch((caught: unknown) => caught);
    expect((error as AosError).code).toBe('unavailable');
  });
});
