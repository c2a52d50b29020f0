/**
 * Roles in the database (design.md, Trust; docs/security.md). On a PostgreSQL server,
 * `aos init` gives the aos schema to `aos_owner`, a role no one logs in as, and makes two
 * group roles to grant to logins: `aos_kernel` for the CLI and workers (every table but
 * the audit log, which it may only append to) and `aos_client` for psql users (the SQL
 * face's public functions and the views). The embedded database has one user, the OS
 * account that owns its private socket, and no roles to separate.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AosError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import type { Db, Queryable } from './db.js';
import { schemaLockKey } from './schema-lock.js';

export const databaseRoles = { owner: 'aos_owner', kernel: 'aos_kernel', client: 'aos_client' } as const;

/** Whether the schema's owner is aos_owner: the database was set up by `aos init` with roles. */
export async function rolesSeparated(db: Db): Promise<boolean> {
  if (db.kind !== 'postgres') return false;
  const result = await db.query<{ owner: string | null }>(
    "select nspowner::regrole::text as owner from pg_namespace where nspname = 'aos'",
  );
  return result.rows[0]?.owner === databaseRoles.owner;
}

/**
 * Makes the three roles (once per server: roles belong to the cluster), gives the schema to
 * aos_owner and applies the grants. Needs a superuser, or a role with CREATEROLE that owns
 * the schema and the database.
 */
export async function separateRoles(db: Db): Promise<void> {
  for (const role of Object.values(databaseRoles)) await createGroupRole(db, role);
  await db.transaction(async (tx) => {
    await tx.query('select pg_advisory_xact_lock($1)', [schemaLockKey]);
    const self = await tx.query<{ superuser: boolean }>(
      'select rolsuper as superuser from pg_roles where rolname = current_user',
    );
    // A non-superuser hands objects to aos_owner only as one of its members.
    if (self.rows[0]?.superuser !== true) await tx.query('grant aos_owner to current_user');
    await tx.exec(roleScript('ownership'));
    await tx.query("select set_config('role', $1, true)", [databaseRoles.owner]);
    await tx.exec(roleScript('grants'));
  });
}

/** Applies the grants again (after migrations added tables or functions), as aos_owner. */
export async function applyGrants(tx: Queryable): Promise<void> {
  await tx.query('select pg_advisory_xact_lock($1)', [schemaLockKey]);
  await tx.query("select set_config('role', $1, true)", [databaseRoles.owner]);
  await tx.exec(roleScript('grants'));
}

async function createGroupRole(db: Db, role: string): Promise<void> {
  try {
    // The names are the constants above, not input.
    await db.exec(`create role ${role} nologin`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // 42710: it exists; 23505: another `aos init` made it at the same moment.
    if (code === '42710' || code === '23505') return;
    if (code === '42501' || (error instanceof AosError && error.code === 'forbidden')) {
      throw new AosError(
        'forbidden',
        `cannot create the database role ${role}: ${String((error as Error).message)}`,
        {
          hint: 'run aos init as a superuser or a role with CREATEROLE, or pass --no-roles to keep one role for everything (every client of the database is then trusted with everything)',
          cause: error,
        },
      );
    }
    throw error;
  }
}

function roleScript(name: 'ownership' | 'grants'): string {
  return readFileSync(join(packageRoot(), 'migrations', 'roles', `${name}.sql`), 'utf8');
}
