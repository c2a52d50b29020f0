/**
 * The Db implementation for a PostgreSQL server (or anything speaking its wire
 * protocol, such as the embedded database's local socket), on node-postgres.
 */
import pg from 'pg';
import { redactSecrets } from '../redact-secrets.js';
import { retryingConflicts } from './conflict-retry.js';
import type { Db, Queryable, QueryOptions, QueryResult } from './db.js';
import { openDedicatedConnection } from './dedicated-connection.js';
import { translateDatabaseError } from './postgres-errors.js';
import {
  defaultSessionBounds,
  keepAlive,
  type SessionBounds,
  sessionStartupOptions,
} from './session-bounds.js';

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
  /** Every session's timeouts; default `defaultSessionBounds`. Not sent over PGlite's socket (one session). */
  bounds?: SessionBounds;
  /** Called after the pool is closed. */
  onClose?: () => Promise<void>;
}

/**
 * Errors of a transaction whose COMMIT was sent but not answered: it may or may not have
 * committed. Any other error of `transaction` leaves nothing committed.
 */
export const commitInDoubt = new WeakSet<object>();

// bigint (int8) and numeric come back as strings by default; aos's counters fit in a double.
pg.types.setTypeParser(20, (value) => Number(value));

/** Opens a pool against a PostgreSQL server. Connects lazily; `ping` it to fail fast. */
export function createPostgresDb(options: PostgresDbOptions): Db {
  const onServer = options.kind === undefined || options.kind === 'postgres';
  const config = connectionConfig(options, onServer);
  config.max = options.maxConnections ?? 10;
  config.connectionTimeoutMillis ??= 10_000;
  const location =
    options.location ?? redact(typeof options.connection === 'string' ? options.connection : 'postgres');
  const pool = new pg.Pool(config);
  // Why each client's connection broke, so a statement refused by a dead client reports the server's reason.
  const brokenBy = new WeakMap<pg.ClientBase, unknown>();
  // Every client, checked out or idle, listens for errors: a connection lost while nothing awaits a
  // statement on it (the pool only listens to idle clients) must not crash the process.
  pool.on('connect', (client) => {
    client.on('error', (error) => {
      if (!brokenBy.has(client)) brokenBy.set(client, error);
    });
  });
  // An idle client losing its server must not crash the process; the next query reports it.
  pool.on('error', () => {});

  // Over PGlite's socket all clients share one session: names would collide, so none are used there.
  const prepares = onServer;

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
      const hasSqlState = typeof (error as { code?: unknown }).code === 'string';
      const broken = client instanceof pg.Pool ? undefined : brokenBy.get(client);
      throw translateDatabaseError(hasSqlState || broken === undefined ? error : broken, location);
    }
  }

  async function connect(): Promise<pg.PoolClient> {
    try {
      return await pool.connect();
    } catch (error) {
      throw translateDatabaseError(error, location);
    }
  }

  async function transactionOnce<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await connect();
    let broken = false;
    let committing = false;
    try {
      await run(client, 'begin');
      const tx: Queryable = {
        query: (sql, params, queryOptions) => run(client, sql, params, queryOptions),
        exec: async (sql) => void (await run(client, sql)),
      };
      const result = await work(tx);
      committing = true;
      await run(client, 'commit');
      return result;
    } catch (error) {
      if (committing && typeof error === 'object' && error !== null) commitInDoubt.add(error);
      if (brokenBy.has(client)) broken = true;
      else {
        try {
          await client.query('rollback');
        } catch {
          broken = true;
        }
      }
      throw error;
    } finally {
      client.release(broken);
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
        : retryingConflicts(() => run(pool, sql, params, queryOptions), location),
    exec: async (sql) =>
      options.everyStatementInTransaction
        ? db.transaction((tx) => tx.exec(sql))
        : void (await retryingConflicts(() => run(pool, sql), location)),
    transaction: (work) => retryingConflicts(() => transactionOnce(work), location),
    async listen(channel, onNotify) {
      if (listener === undefined) {
        const client = await connect();
        const handlers = new Map<string, Set<(payload: string) => void>>();
        client.on('notification', (message) => {
          for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
        });
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
    // One session over PGlite's socket: bounds are not sent there, so the same Db serves.
    bounded: (bounds) => (onServer ? createPostgresDb({ ...withoutOnClose(options), bounds }) : db),
    connection: async () =>
      onServer
        ? openDedicatedConnection(config, location, prepares)
        : { query: db.query, exec: db.exec, close: async () => {} },
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

/**
 * The pg config: the connection, plus on a server the session bounds as startup
 * parameters and TCP keepalives. The kernel's `-c` settings come after any `options`
 * the URL or config gives, so they win.
 */
function connectionConfig(options: PostgresDbOptions, onServer: boolean): pg.PoolConfig {
  const config: pg.PoolConfig =
    typeof options.connection === 'string' ? fromUrl(options.connection) : { ...options.connection };
  if (!onServer) return config;
  const own = sessionStartupOptions(options.bounds ?? defaultSessionBounds);
  config.options = config.options === undefined || config.options === '' ? own : `${config.options} ${own}`;
  config.keepAlive ??= true;
  config.keepAliveInitialDelayMillis ??= keepAlive.clientInitialDelayMs;
  return config;
}

/** A config for a URL, its `options` parameter taken out (node-postgres would let it replace the kernel's). */
function fromUrl(connectionString: string): pg.PoolConfig {
  try {
    const url = new URL(connectionString);
    const given = url.searchParams.get('options');
    if (given !== null) {
      url.searchParams.delete('options');
      return { connectionString: url.toString(), options: given };
    }
  } catch {
    // Not a URL: node-postgres parses it (or reports it).
  }
  return { connectionString };
}

/** Options for a copy of the Db: its close must not run the original's onClose. */
function withoutOnClose(options: PostgresDbOptions): PostgresDbOptions {
  const copy = { ...options };
  delete copy.onClose;
  return copy;
}

/** A connection string with its password removed. */
export function redact(connectionString: string): string {
  return redactSecrets(connectionString);
}
