/**
 * The migration runner: numbered plain SQL files in migrations/, each applied in
 * one transaction under an advisory lock, recorded in aos.migrations. Safe when
 * several processes migrate at once; refuses a database newer than this code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AosError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { Db } from './db.js';

/** One migration file. */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

// Any constant works; it only has to be the same in every aos process.
const migrationLockKey = 7_241_001;

/** The migrations shipped with this version of aos, in order. */
export function loadMigrations(directory = join(packageRoot(), 'migrations')): Migration[] {
  return readdirSync(directory)
    .filter((file) => /^\d{4}_[a-z0-9_-]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      id: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(join(directory, file), 'utf8'),
    }));
}

/** Applies pending migrations; returns the ids applied now. */
export async function migrate(db: Db, migrations = loadMigrations()): Promise<number[]> {
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [migrationLockKey]);
    await tx.query('create schema if not exists aos');
    await tx.query(
      'create table if not exists aos.migrations (id int primary key, name text not null, applied_at timestamptz not null default now())',
    );
  });
  const latest = migrations.at(-1)?.id ?? 0;
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [migrationLockKey]);
      const newest = await tx.query<{ id: number | null }>('select max(id) as id from aos.migrations');
      const newestId = Number(newest.rows[0]?.id ?? 0);
      if (newestId > latest) throw schemaTooNew(newestId, latest);
      const existing = await tx.query('select 1 from aos.migrations where id = $1', [migration.id]);
      if (existing.rowCount > 0) return false;
      await tx.query('insert into aos.migrations (id, name) values ($1, $2)', [migration.id, migration.name]);
      await tx.exec(migration.sql);
      return true;
    });
    if (done) applied.push(migration.id);
  }
  if (migrations.length === 0) await checkSchemaVersion(db, 0);
  return applied;
}

/** Throws `conflict` when the database was migrated by a newer aos. */
export async function checkSchemaVersion(db: Db, latest = loadMigrations().at(-1)?.id ?? 0): Promise<number> {
  const result = await db.query<{ id: number | null }>('select max(id) as id from aos.migrations');
  const newestId = Number(result.rows[0]?.id ?? 0);
  if (newestId > latest) throw schemaTooNew(newestId, latest);
  return newestId;
}

function schemaTooNew(found: number, known: number): AosError {
  return new AosError(
    'conflict',
    `the database schema is at migration ${found}, newer than this aos (${known})`,
    {
      hint: 'upgrade aos to the version that migrated this database, or point it at another database',
    },
  );
}
