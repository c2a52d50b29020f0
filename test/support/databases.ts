/**
 * The databases every database test runs against: an in-memory PGlite always, and
 * a fresh database on the PostgreSQL server at AOS_TEST_DATABASE_URL when it is set.
 * Each call makes a new, empty database, so no test depends on another.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import { afterEach } from 'vitest';
import { separateRoles } from '../../src/storage/database-roles.js';
import type { Db } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrate.js';
import { createPgliteDb, openPglite } from '../../src/storage/pglite-db.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';

export interface TestDatabase {
  name: 'pglite' | 'postgres';
  /** Creates a new empty database; `url` is set for the server (for subprocesses). */
  create(): Promise<{ db: Db; url?: string; drop(): Promise<void> }>;
}

const serverUrl = process.env.AOS_TEST_DATABASE_URL;

/**
 * With AOS_TEST_DATABASE_ROLES=kernel, each server database is set up as `aos init` does
 * (the schema given to aos_owner) and tests connect as a login holding only aos_kernel, as
 * the CLI and workers of a production server do. Tests that tamper with the audit log as
 * a superuser do not run in this mode; it is for checking that the kernel needs no more.
 */
const kernelRoleOnly = process.env.AOS_TEST_DATABASE_ROLES === 'kernel';
export const kernelTestLogin = 'aos_test_kernel';

/**
 * An empty database made once per test process by openPglite (initdb takes 1.5-2 s) and
 * copied for each test (a copy opens in ~0.3 s).
 */
let emptyDataDir: Promise<Blob> | undefined;

function emptyPgliteCopy(): Promise<PGlite> {
  emptyDataDir ??= openPglite(undefined).then(async (template) => {
    const dump = await template.dumpDataDir('none');
    await template.close();
    return dump;
  });
  return emptyDataDir.then((loadDataDir) =>
    // The options openPglite uses (src/storage/pglite-db.ts), plus the copy to start from.
    PGlite.create({ loadDataDir, extensions: { vector }, parsers: { 20: (value: string) => Number(value) } }),
  );
}

export const pgliteDatabase: TestDatabase = {
  name: 'pglite',
  async create() {
    const db = createPgliteDb(await emptyPgliteCopy(), 'memory');
    return { db, drop: () => db.close() };
  },
};

export const postgresDatabase: TestDatabase = {
  name: 'postgres',
  async create() {
    if (serverUrl === undefined) throw new Error('AOS_TEST_DATABASE_URL is not set');
    const name = `aos_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    if (kernelRoleOnly) {
      await setUpRoles(url.toString());
      url.username = kernelTestLogin;
    }
    const db = createPostgresDb({ connection: url.toString(), maxConnections: 20 });
    return {
      db,
      url: url.toString(),
      async drop() {
        await db.close();
        const cleanup = new pg.Client({ connectionString: serverUrl });
        await cleanup.connect();
        await cleanup.query(`drop database if exists ${name} with (force)`);
        await cleanup.end();
      },
    };
  },
};

/** Migrates and separates the roles of the database at `url` as its admin; makes the kernel login. */
async function setUpRoles(url: string): Promise<void> {
  const admin = createPostgresDb({ connection: url, maxConnections: 2 });
  try {
    await migrate(admin);
    await separateRoles(admin);
    await createLogin(admin, kernelTestLogin, 'aos_kernel');
  } finally {
    await admin.close();
  }
}

/** Makes a login role in `group` once per server; another test process may make it at the same moment. */
export async function createLogin(admin: Db, login: string, group: string): Promise<void> {
  try {
    await admin.exec(`create role ${login} login in role ${group}`);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== '42710' && code !== '23505') throw error;
    await admin.exec(`grant ${group} to ${login}`);
  }
}

/** PGlite, and the server when AOS_TEST_DATABASE_URL is set. */
export const testDatabases: TestDatabase[] =
  serverUrl === undefined ? [pgliteDatabase] : [pgliteDatabase, postgresDatabase];

/** Whether the server tests run (CI sets AOS_TEST_DATABASE_URL). */
export const hasServer = serverUrl !== undefined;

/** Says loudly, on stderr, that `what` is skipped because no server is set; for server-only test files. */
export function warnWhenSkipped(what: string): void {
  if (!hasServer) console.warn(`SKIPPED: ${what} needs a PostgreSQL server: set AOS_TEST_DATABASE_URL`);
}

/** For a describe block: returns `fresh()`, which makes a new migrated database, dropped after each test. */
export function migratedDatabases(database: TestDatabase): () => Promise<Db> {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });
  return async () => {
    const created = await database.create();
    drop = created.drop;
    await migrate(created.db);
    return created.db;
  };
}
