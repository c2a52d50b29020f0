/**
 * A Db wrapper for fault-injection tests: it runs every statement on a real Db and lets
 * the test act between the database's answer and the caller seeing it (delay the
 * answer, stop the process), and slow every transaction down while it holds its
 * connection. Statements inside a transaction are passed through untouched.
 */
import type { Db, DedicatedConnection, Queryable, QueryOptions, QueryResult } from '../../src/storage/db.js';
import type { SessionBounds } from '../../src/storage/session-bounds.js';

/** A statement as the caller sent it. */
export interface SentQuery {
  sql: string;
  params: readonly unknown[];
  options: QueryOptions | undefined;
}

export interface FaultyDbHooks {
  /** Runs after the database answered `query` (outside transactions) and before the caller sees the answer. */
  answered?(query: SentQuery): Promise<void> | void;
  /** Runs at the start of every transaction, on its connection, before the work (holds the connection). */
  transactionStarted?(): Promise<void> | void;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A random whole number of milliseconds in [min, max]. */
export function randomMs(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

/** The journal writes of a live operation made outside a transaction (program steps, tool steps, their finish). */
export function isJournalWrite(query: SentQuery): boolean {
  const name = query.options?.prepare;
  return name === 'aos_append_program_step' || name === 'aos_append_step' || name === 'aos_finish_step';
}

/** `inner` with the faults of `hooks`; everything else (listen, close, kind) is the inner Db's. */
export class FaultyDb implements Db {
  constructor(
    private readonly inner: Db,
    private readonly hooks: FaultyDbHooks,
  ) {}

  get kind() {
    return this.inner.kind;
  }

  get location() {
    return this.inner.location;
  }

  get deliversNotifications() {
    return this.inner.deliversNotifications;
  }

  async query<Row = Record<string, unknown>>(
    sql: string,
    params: readonly unknown[] = [],
    options?: QueryOptions,
  ): Promise<QueryResult<Row>> {
    const result = await this.inner.query<Row>(sql, params, options);
    await this.hooks.answered?.({ sql, params, options });
    return result;
  }

  exec(sql: string): Promise<void> {
    return this.inner.exec(sql);
  }

  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.inner.transaction(async (tx) => {
      await this.hooks.transactionStarted?.();
      return work(tx);
    });
  }

  /** The inner Db's bounded sessions, with the same faults (a worker runs on these). */
  bounded(bounds: SessionBounds): Db {
    const bounded = this.inner.bounded(bounds);
    return bounded === this.inner ? this : new FaultyDb(bounded, this.hooks);
  }

  /** A connection of its own, without faults (a worker's heartbeat). */
  connection(): Promise<DedicatedConnection> {
    return this.inner.connection();
  }

  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    return this.inner.listen(channel, onNotify);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
