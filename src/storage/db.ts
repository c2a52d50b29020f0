/**
 * The Db interface: the one way aos talks to PostgreSQL, whether a server
 * (node-postgres) or the embedded PGlite. Everything above this file is the same
 * code for both.
 */
import type { SessionBounds } from './session-bounds.js';

/** Rows and count of one statement. */
export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

/** How to run a statement. */
export interface QueryOptions {
  /**
   * Prepare the statement under this name, once per connection, on a PostgreSQL server
   * (parsed and planned once, not at every run); ignored by PGlite. For hot statements
   * whose text never changes.
   */
  prepare?: string;
}

/** Anything that runs a parameterised statement: the database, or a transaction. */
export interface Queryable {
  query<Row = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<Row>>;
  /** Runs a script of several statements with no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A connection of its own, outside any pool: its statements never wait for a pooled connection. */
export interface DedicatedConnection extends Queryable {
  /** Closes the connection; it cannot be used afterwards. */
  close(): Promise<void>;
}

/** Which engine is behind a Db. */
export type DbKind = 'postgres' | 'pglite';

/**
 * A database handle. Statements outside `transaction` each run in their own transaction.
 * A statement or transaction aborted by a deadlock or a serialization failure (SQLSTATE
 * 40P01, 40001) is run again, a few times, before it fails with `unavailable`.
 */
export interface Db extends Queryable {
  readonly kind: DbKind;
  /** Where the data lives, safe to print (no password). */
  readonly location: string;
  /** Whether `listen` delivers notifications raised by other processes. */
  readonly deliversNotifications: boolean;
  /**
   * Runs `work` in one transaction; commits when it resolves, rolls back when it throws.
   * After a deadlock or serialization failure, `work` runs again on a new transaction:
   * it must issue its statements only on the `tx` it is given.
   */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Calls `onNotify` for each NOTIFY on `channel`; resolves to an unsubscribe function. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * A Db over the same database whose every session has `bounds`; close it when done
   * (that closes only its own connections). The same Db where there is one session (PGlite).
   */
  bounded(bounds: SessionBounds): Db;
  /**
   * Opens one connection outside the pool, with this Db's bounds, that reconnects on the
   * next statement after it breaks (a statement in flight then fails). A wrapper over
   * this Db, whose close does nothing, where there is one session (PGlite).
   */
  connection(): Promise<DedicatedConnection>;
  close(): Promise<void>;
}
