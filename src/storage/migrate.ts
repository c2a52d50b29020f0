/**
 * The migration runner: numbered plain SQL files in migrations/, each applied in
 * one transaction under an advisory lock, recorded in aos.migrations. Safe when
 * several processes migrate at once; refuses a database newer than this code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AosError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { applyGrants, databaseRoles } from './database-roles.js';
import type { Db, Queryable } from './db.js';
import { schemaLockKey } from './schema-lock.js';

/** One migration file. */
export interface Migration {
  id: number;
  name: string;
  sql: string;
}

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

/**
 * Applies pending migrations; returns the ids applied now. A database already up to date is
 * only read. Where the schema belongs to another role (aos_owner, after `aos init`), the
 * migrations run as that role when this one may act as it, and the grants are applied
 * again after them; otherwise they are refused with a hint to run `aos init` as its owner.
 */
export async function migrate(db: Db, migrations = loadMigrations()): Promise<number[]> {
  const latest = migrations.at(-1)?.id ?? 0;
  const state = await schemaState(db);
  if (state.newest > latest) throw schemaTooNew(state.newest, latest);
  if (state.exists && state.newest >= latest) return [];
  if (state.owner !== null && !state.mayActAsOwner) throw cannotMigrate(state, latest);
  const runAs = state.owner !== null && state.owner !== state.self ? state.owner : null;
  const actAsOwner = async (tx: Queryable) => {
    if (runAs !== null) await tx.query("select set_config('role', $1, true)", [runAs]);
  };
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [schemaLockKey]);
    await actAsOwner(tx);
    await tx.query('create schema if not exists aos');
    await tx.query(
      'create table if not exists aos.migrations (id int primary key, name text not null, applied_at timestamptz not null default now())',
    );
  });
  const applied: number[] = [];
  for (const migration of migrations) {
    const done = await db.transaction(async (tx) => {
      await tx.query('select pg_advisory_xact_lock($1)', [schemaLockKey]);
      await actAsOwner(tx);
      const newest = await tx.query<{ id: number | null }>('select max(id) as id from aos.migrations');
      const newestId = Number(newest.rows[0]?.id ?? 0);
      if (newestId > latest) throw schemaTooNew(newestId, latest);
      const existing = await tx.query('select 1 from aos.migrations where id = $1', [migration.id]);
      if (existing.rowCount > 0) return false;
      await tx.query('insert into aos.migrations (id, name) values ($1, $2)', [migration.id, migration.name]);
      await tx.exec(migration.sql);
      // With the migration, not after it: a crash between them would leave new functions
      // executable by PUBLIC on a schema that says it is up to date.
      if (state.owner === databaseRoles.owner) await applyGrants(tx);
      return true;
    });
    if (done) applied.push(migration.id);
  }
  return applied;
}

/** What migrating needs to know: how far the schema is, who owns it, who we are. */
interface SchemaState {
  exists: boolean;
  newest: number;
  /** The schema's owner; null when there is no schema yet. */
  owner: string | null;
  self: string;
  mayActAsOwner: boolean;
}

async function schemaState(db: Db): Promise<SchemaState> {
  const result = await db.query<{
    owner: string | null;
    self: string;
    may_act: boolean | null;
    has_table: boolean;
  }>(
    `select n.nspowner::regrole::text as owner, current_user::text as self,
            pg_has_role(current_user, n.nspowner, 'MEMBER') as may_act,
            to_regclass('aos.migrations') is not null as has_table
       from (select 1) as one
       left join pg_namespace n on n.nspname = 'aos'`,
  );
  const row = result.rows[0]!;
  let newest = 0;
  if (row.has_table) {
    const found = await db.query<{ id: number | null }>('select max(id) as id from aos.migrations');
    newest = Number(found.rows[0]?.id ?? 0);
  }
  return {
    exists: row.has_table,
    newest,
    owner: row.owner,
    self: row.self,
    mayActAsOwner: row.may_act === true,
  };
}

function cannotMigrate(state: SchemaState, latest: number): AosError {
  return new AosError(
    'forbidden',
    `the database schema is at migration ${state.newest} and needs ${latest}, but it belongs to ${state.owner}, which this role (${state.self}) may not act as`,
    {
      hint: 'run aos init --db URL as a superuser or a member of the schema owner role; then run this again',
    },
  );
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
