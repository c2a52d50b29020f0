/**
 * Session bounds: the timeouts aos sets on its own PostgreSQL sessions, so that a
 * dead, frozen or stuck client cannot hold locks for longer than they allow, whatever
 * the server's configuration says. Sent as startup parameters (no extra round trip).
 */
import { AosError } from '../errors.js';

/** Timeouts of one session, in milliseconds; 0 means no limit (PostgreSQL's meaning). */
export interface SessionBounds {
  /** lock_timeout: the longest a statement waits for a lock before failing (SQLSTATE 55P03). */
  lockTimeoutMs: number;
  /** statement_timeout: the longest a statement runs before it is cancelled (SQLSTATE 57014). */
  statementTimeoutMs: number;
  /** idle_in_transaction_session_timeout: a session idle this long inside a transaction is ended (25P03). */
  idleInTransactionMs: number;
}

/**
 * The bounds of ordinary kernel sessions (CLI commands, syscalls, the web API).
 * Generous, because they run bulk work (imports, retention, index builds), yet finite:
 * - statement 5 min: no statement of aos should take longer; a runaway one from a
 *   client that went away stops instead of holding its locks for good;
 * - lock 30 s: far above any wait on a worker's transaction (bounded by the worker's
 *   own, shorter bounds), so a command never hangs behind a stuck session forever;
 * - idle in transaction 60 s: kernel transactions wait on nothing but the database, so
 *   only a paused or frozen client is idle that long; its locks go after a minute.
 */
export const defaultSessionBounds: SessionBounds = {
  lockTimeoutMs: 30_000,
  statementTimeoutMs: 300_000,
  idleInTransactionMs: 60_000,
};

/**
 * A worker's bounds for a lease of `leaseMs`: lock_timeout and idle in transaction about
 * the lease (at least 250 and 500 ms), so a frozen worker's row locks are gone by the
 * time its lease expires (a killed one's go within the connection check, a second);
 * statement_timeout as in `base`. A live worker on a loaded machine may wait for a row
 * as long as a lease; a shorter lock timeout failed its writes there (bench:chaos).
 */
export function workerSessionBounds(
  leaseMs: number,
  base: SessionBounds = defaultSessionBounds,
): SessionBounds {
  return {
    lockTimeoutMs: Math.max(250, Math.round(leaseMs)),
    statementTimeoutMs: base.statementTimeoutMs,
    idleInTransactionMs: Math.max(500, Math.round(leaseMs)),
  };
}

/**
 * TCP keepalives, on both ends. The server probes an idle client after 10 s, every 5 s,
 * 3 times (a vanished client's session ends within ~25 s); the client starts after 10 s.
 */
export const keepAlive = { idleSeconds: 10, intervalSeconds: 5, count: 3, clientInitialDelayMs: 10_000 };

/**
 * How often a backend running a statement checks that its client is still there
 * (PostgreSQL 14+), so a killed worker's running statement stops within a second.
 */
const clientConnectionCheckMs = 1000;

/** The value of the startup parameter `options` (`-c name=value ...`) for sessions with `bounds`. */
export function sessionStartupOptions(bounds: SessionBounds): string {
  const settings: [string, number][] = [
    ['lock_timeout', bounds.lockTimeoutMs],
    ['statement_timeout', bounds.statementTimeoutMs],
    ['idle_in_transaction_session_timeout', bounds.idleInTransactionMs],
    ['tcp_keepalives_idle', keepAlive.idleSeconds],
    ['tcp_keepalives_interval', keepAlive.intervalSeconds],
    ['tcp_keepalives_count', keepAlive.count],
    ['client_connection_check_interval', clientConnectionCheckMs],
  ];
  return settings.map(([name, value]) => `-c ${name}=${checkedMs(name, value)}`).join(' ');
}

function checkedMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) {
    throw new AosError('invalid_input', `${name} must be a number of milliseconds >= 0, got ${value}`);
  }
  return Math.round(value);
}
