/**
 * Maps PostgreSQL and connection errors to AosError codes, by SQLSTATE and errno,
 * never by message text. aos's own SQL functions raise the SQLSTATEs below.
 */
import { AosError, type ErrorCode } from '../errors.js';

/** SQLSTATEs raised by aos's SQL functions (RAISE ... USING ERRCODE). */
const aosSqlStates: Record<string, ErrorCode> = {
  AOSNF: 'not_found',
  AOSCF: 'conflict',
  AOSIN: 'invalid_input',
  AOSFB: 'forbidden',
};

const connectionErrnos = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOENT',
  'EPIPE',
]);

/** SQLSTATEs of work the server aborted or a session it ended, with what they become. */
const boundedSqlStates: Record<string, { code: ErrorCode; hint: string }> = {
  '40P01': {
    code: 'unavailable',
    hint: 'the database broke a deadlock with concurrent work by aborting this; retry',
  },
  '40001': {
    code: 'unavailable',
    hint: 'this conflicted with a concurrent transaction and was rolled back; retry',
  },
  '55P03': {
    code: 'timeout',
    hint: 'another session held a lock for longer than lock_timeout allows; retry once it is done',
  },
  '57014': {
    code: 'timeout',
    hint: 'the statement ran longer than statement_timeout allows and was cancelled',
  },
  '25P03': {
    code: 'unavailable',
    hint: 'the session stayed idle inside a transaction past its bound and the server ended it; retry',
  },
  '57P05': {
    code: 'unavailable',
    hint: 'the session stayed idle past its bound and the server ended it; retry',
  },
};

interface ErrorWithCode {
  code?: unknown;
  message?: unknown;
  hint?: unknown;
}

/** Converts a driver error to an AosError when its class is known; otherwise returns it unchanged. */
export function translateDatabaseError(error: unknown, location: string): unknown {
  if (error instanceof AosError || typeof error !== 'object' || error === null) return error;
  const { code, message, hint } = error as ErrorWithCode;
  const text = typeof message === 'string' ? message : String(error);
  if (typeof code === 'string') {
    if (code === 'AOSLL') return new LeaseLostError(text);
    const aosCode = aosSqlStates[code];
    if (aosCode !== undefined) {
      return new AosError(
        aosCode,
        text,
        typeof hint === 'string' ? { hint, cause: error } : { cause: error },
      );
    }
    const bounded = boundedSqlStates[code];
    if (bounded !== undefined) {
      return new AosError(bounded.code, `${text} (database at ${location})`, {
        hint: bounded.hint,
        retryable: true,
        cause: error,
        details: { sqlstate: code },
      });
    }
    if (
      connectionErrnos.has(code) ||
      code.startsWith('08') ||
      code === '57P01' ||
      code === '57P03' ||
      code === '3D000'
    ) {
      return databaseUnavailable(location, text, error);
    }
    if (code === '42501') {
      return new AosError('forbidden', `the database role may not do this: ${text}`, {
        hint: 'aos init separates the roles: the CLI and workers need aos_kernel, psql users get aos_client (docs/security.md)',
        cause: error,
        details: { sqlstate: code },
      });
    }
    if (code === '28P01' || code === '28000') {
      return new AosError('unavailable', `cannot log in to the database at ${location}: ${text}`, {
        hint: 'check the user and password in AOS_DATABASE_URL',
        cause: error,
      });
    }
  }
  if (text.includes('Connection terminated') || text.includes('connect ECONNREFUSED')) {
    return databaseUnavailable(location, text, error);
  }
  return error;
}

/** The caller's lease on a process is gone (expired or taken over): it must stop writing. */
export class LeaseLostError extends AosError {
  constructor(message: string) {
    super('conflict', message, { hint: 'another worker owns this process now', retryable: false });
    this.name = 'LeaseLostError';
  }
}

/** The error for a database that cannot be reached. */
export function databaseUnavailable(location: string, reason: string, cause?: unknown): AosError {
  return new AosError('unavailable', `the database at ${location} is unreachable: ${reason}`, {
    hint: 'start PostgreSQL, or point AOS_DATABASE_URL (or --db) at a running server; without either, aos uses its embedded database',
    cause,
  });
}
