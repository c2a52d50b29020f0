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

  it('delivers NOTIFY to listen', async () => {
    const { db, drop } = await database.create();
    try {
      const received: string[] = [];
      const stop = await db.listen('aos_test', (payload) => received.push(payload));
      await db.query("select pg_notify('aos_test', 'hello')");
      for (let attempt = 0; attempt < 100 && received.length === 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await stop();
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
      expect([...first, ...other].sort()).toEqual(all);
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
