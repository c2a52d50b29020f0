/**
 * One node-postgres connection of its own, outside any pool, for statements that must
 * never queue behind other work (a worker's lease heartbeat). After it breaks (server
 * restart, session ended by a timeout), the next statement opens a new one.
 */
import pg from 'pg';
import { AosError } from '../errors.js';
import { retryingConflicts } from './conflict-retry.js';
import type { DedicatedConnection, QueryResult } from './db.js';
import { translateDatabaseError } from './postgres-errors.js';

/** Opens a dedicated connection with `config` (which carries the session bounds); rejects when it cannot connect. */
export async function openDedicatedConnection(
  config: pg.ClientConfig,
  location: string,
  prepares: boolean,
): Promise<DedicatedConnection> {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  // Why each client broke, so a statement refused by a dead client reports the server's reason.
  const brokenBy = new WeakMap<pg.Client, unknown>();

  async function open(): Promise<pg.Client> {
    const fresh = new pg.Client(config);
    const forget = (reason: unknown) => {
      if (!brokenBy.has(fresh)) brokenBy.set(fresh, reason);
      if (client === fresh) client = undefined;
    };
    // Without a listener, a connection lost while idle would crash the process.
    fresh.on('error', forget);
    fresh.on('end', () => forget(undefined));
    try {
      await fresh.connect();
    } catch (error) {
      throw translateDatabaseError(error, location);
    }
    return fresh;
  }

  async function current(): Promise<pg.Client> {
    if (closed) throw new AosError('internal', `a dedicated connection to ${location} was used after close`);
    if (client !== undefined) return client;
    connecting ??= open().finally(() => {
      connecting = undefined;
    });
    const opened = await connecting;
    if (closed) {
      await opened.end().catch(() => {});
      throw new AosError('internal', `a dedicated connection to ${location} was used after close`);
    }
    client = opened;
    return opened;
  }

  async function run<Row>(
    sql: string,
    params?: readonly unknown[],
    name?: string,
  ): Promise<QueryResult<Row>> {
    const target = await current();
    try {
      const result =
        prepares && name !== undefined
          ? await target.query({ name, text: sql, values: params as unknown[] | undefined })
          : await target.query(sql, params as unknown[] | undefined);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    } catch (error) {
      const severity = (error as { severity?: unknown }).severity;
      const sessionOver = brokenBy.has(target) || severity === 'FATAL' || severity === 'PANIC';
      if (sessionOver) {
        // The server ended the session: drop this client now, so the next statement reconnects.
        if (client === target) client = undefined;
        target.end().catch(() => {});
      }
      const hasSqlState = typeof (error as { code?: unknown }).code === 'string';
      throw translateDatabaseError(hasSqlState ? error : (brokenBy.get(target) ?? error), location);
    }
  }

  await current();
  return {
    query: (sql, params, options) => retryingConflicts(() => run(sql, params, options?.prepare), location),
    exec: async (sql) => void (await retryingConflicts(() => run(sql), location)),
    async close() {
      closed = true;
      const last = client ?? (await connecting?.catch(() => undefined));
      client = undefined;
      await last?.end().catch(() => {});
    },
  };
}
