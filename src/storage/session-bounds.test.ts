/** A worker's session bounds follow its lease; startup options carry every bound. */
import { describe, expect, it } from 'vitest';
import { AosError } from '../errors.js';
import { defaultSessionBounds, sessionStartupOptions, workerSessionBounds } from './session-bounds.js';

describe('session bounds', () => {
  it("derive a worker's bounds from its lease, with floors for short leases", () => {
    expect(workerSessionBounds(1000)).toEqual({
      lockTimeoutMs: 1000,
      statementTimeoutMs: defaultSessionBounds.statementTimeoutMs,
      idleInTransactionMs: 1000,
    });
    expect(workerSessionBounds(100)).toMatchObject({ lockTimeoutMs: 250, idleInTransactionMs: 500 });
    expect(workerSessionBounds(30_000, { ...defaultSessionBounds, statementTimeoutMs: 0 })).toEqual({
      lockTimeoutMs: 30_000,
      statementTimeoutMs: 0,
      idleInTransactionMs: 30_000,
    });
  });

  it('are sent as -c startup options, and refuse a negative bound', () => {
    const options = sessionStartupOptions({
      lockTimeoutMs: 250,
      statementTimeoutMs: 0,
      idleInTransactionMs: 1000,
    });
    expect(options).toMatch(
      /^-c lock_timeout=250 -c statement_timeout=0 -c idle_in_transaction_session_timeout=1000 /,
    );
    expect(options).toContain('-c tcp_keepalives_idle=');
    expect(() => sessionStartupOptions({ ...defaultSessionBounds, lockTimeoutMs: -1 })).toThrow(AosError);
  });
});
