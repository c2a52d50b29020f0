/**
 * The Db implementation for a PostgreSQL server (or anything speaking its wire
 * protocol, such as the embedded database's local socket), on node-postgres.
 */
import pg from 'pg';
import type { Db, Queryable, QueryOptions, QueryResult } from './db.js';
import { translateDatabaseError } from './postgres-errors.js';

export interface PostgresDbOptions {
  /** A connection string, or a pg config object (used for the embedded socket). */
  connection: string | pg.PoolConfig;
  /** Printable location for messages. */
  location?: string;
  /** Pool size; default 10. */
  maxConnections?: number;
  /** Whether NOTIFY from other sessions reaches `listen`; default true (false over PGlite's socket). */
  deliversNotifications?: boolean;
  /** Reported kind; 'pglite' when this is a client of the embedded database. */
  kind?: Db['kind'];
  /**
   * Run every statement inside BEGIN/COMMIT. Needed over PGlite's socket, which keeps
   * clients apart only inside a transaction block (it has one session for all).
   */
  everyStatementInTransaction?: boolean;
  /** Called after the pool is closed. */
  onClose?: () => Promise<void>;
}

// bigint (int8) and numeric come back as strings by default; aos's counters fit in a double.
pg.types.setTypeParser(20, (value) => Number(value));

/** Opens a pool against a PostgreSQL server. Connects lazily; `ping` it to fail fast. */
export function createPostgresDb(options: PostgresDbOptions): Db {
  const config: pg.PoolConfig =
    typeof options.connection === 'string'
      ? { connectionString: options.connection }
      : { ...options.connection };
  config.max = options.maxConnections ?? 10;
  config.connectionTimeoutMillis ??= 10_000;
  const location =
    options.location ?? redact(typeof options.connection === 'string' ? options.connection : 'postgres');
  const pool = new pg.Pool(config);
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});

  // Over PGlite's socket all clients share one session: names would collide, so none are used there.
  const prepares = options.kind === undefined || options.kind === 'postgres';

  async function run<Row>(
    client: pg.Pool | pg.PoolClient,
    sql: string,
    params?: readonly unknown[],
    queryOptions?: QueryOptions,
  ) {
    try {
      const result =
        prepares && queryOptions?.prepare !== undefined
          ? await client.query({
              name: queryOptions.prepare,
              text: sql,
              values: params as unknown[] | undefined,
            })
          : await client.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 } satisfies QueryResult<Row>;
    } catch (error) {
      throw translateDatabaseError(error, location);
    }
  }

  async function connect(): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw translateDatabaseError(error, location);
    }
  }

  let listener: { client: pg.PoolClient; handlers: Map<string, Set<(payload: string) => void>> } | undefined;

  const db: Db = {
    kind: options.kind ?? 'postgres',
    location,
    deliversNotifications: options.deliversNotifications ?? true,
    query: (sql, params, queryOptions) =>
      options.everyStatementInTransaction
        ? db.transaction((tx) => tx.query(sql, params, queryOptions))
        : run(pool, sql, params, queryOptions),
    exec: async (sql) =>
      options.everyStatementInTransaction
        ? db.transaction((tx) => tx.exec(sql))
        : void (await run(pool, sql)),
    async transaction(work) {
      const client = await connect();
      let broken = false;
      try {
        await run(client, 'begin');
        const tx: Queryable = {
          query: (sql, params, queryOptions) => run(client, sql, params, queryOptions),
          exec: async (sql) => void (await run(client, sql)),
        };
        const result = await work(tx);
        await run(client, 'commit');
        return result;
      } catch (error) {
        try {
          await client.query('rollback');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        client.release(broken);
      }
    },
    async listen(channel, onNotify) {
      if (listener === undefined) {
        const client = await connect();
        const handlers = new Map<string, Set<(payload: string) => void>>();
        client.on('notification', (message) => {
          for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
        });
        client.on('error', () => {});
        listener = { client, handlers };
      }
      const { client, handlers } = listener;
      let set = handlers.get(channel);
      if (set === undefined) {
        set = new Set();
        handlers.set(channel, set);
        await run(client, `listen "${channel.replaceAll('"', '""')}"`);
      }
      set.add(onNotify);
      return async () => {
        set.delete(onNotify);
      };
    },
    async close() {
      if (listener !== undefined) {
        listener.client.release(true);
        listener = undefined;
      }
      await pool.end();
      await options.onClose?.();
    },
  };
  return db;
}

/** A connection string with its password removed. */
export function redact(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return connectionString;
  }
}
