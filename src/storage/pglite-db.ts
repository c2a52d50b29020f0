/**
 * The Db implementation on PGlite, PostgreSQL compiled to WASM, in this process,
 * with pgvector loaded. One PGlite serves one process; other processes reach it
 * through the embedded server (embedded-server.ts).
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { AosError } from '../errors.js';
import { retryingConflicts } from './conflict-retry.js';
import type { Db, Queryable, QueryResult } from './db.js';
import { translateDatabaseError } from './postgres-errors.js';

/** Opens (creating if needed) a PGlite database in `dataDir`, or in memory when it is undefined. */
export async function openPglite(dataDir: string | undefined): Promise<PGlite> {
  try {
    return await PGlite.create({
      ...(dataDir === undefined ? {} : { dataDir }),
      extensions: { vector },
      // int8 as a JS number, as the server driver is set up to do (counters fit in a double).
      parsers: { 20: (value: string) => Number(value) },
    });
  } catch (error) {
    throw new AosError(
      'unavailable',
      `cannot open the embedded database at ${dataDir ?? 'memory'}: ${String(error)}`,
      {
        hint: 'another program may hold it; stop other aos processes, or move AOS_HOME',
        cause: error,
      },
    );
  }
}

/** Wraps a PGlite instance as a Db. `close` closes the PGlite too. */
export function createPgliteDb(pglite: PGlite, location = pglite.dataDir ?? 'memory'): Db {
  async function run<Row>(target: Pick<PGlite, 'query'>, sql: string, params?: readonly unknown[]) {
    try {
      const result = await target.query<Row>(sql, params as unknown[] | undefined);
      // PGlite reports affectedRows 0 for a SELECT; node-postgres reports the rows returned.
      const rowCount = result.rows.length > 0 ? result.rows.length : (result.affectedRows ?? 0);
      return { rows: result.rows, rowCount } satisfies QueryResult<Row>;
    } catch (error) {
      throw translateDatabaseError(error, location);
    }
  }
  async function exec(target: Pick<PGlite, 'exec'>, sql: string) {
    try {
      await target.exec(sql);
    } catch (error) {
      throw translateDatabaseError(error, location);
    }
  }
  const db: Db = {
    kind: 'pglite',
    location,
    deliversNotifications: true,
    query: (sql, params) => retryingConflicts(() => run(pglite, sql, params), location),
    exec: (sql) => retryingConflicts(() => exec(pglite, sql), location),
    transaction(work) {
      return retryingConflicts(
        () =>
          pglite.transaction((transaction) => {
            const tx: Queryable = {
              query: (sql, params) => run(transaction, sql, params),
              exec: (sql) => exec(transaction, sql),
            };
            return work(tx);
          }),
        location,
      );
    },
    async listen(channel, onNotify) {
      const unsubscribe = await pglite.listen(channel, onNotify);
      return unsubscribe;
    },
    // PGlite is one session: bounds do not apply, and no statement can wait for a pooled connection.
    bounded: () => db,
    connection: async () => ({ query: db.query, exec: db.exec, close: async () => {} }),
    async close() {
      if (!pglite.closed) await pglite.close();
    },
  };
  return db;
}
