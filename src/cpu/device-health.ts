/**
 * The circuit breaker of each device, shared by every worker through aos.device_health
 * (migration 0018): whether a call may go now, who probes a device that is down, failures
 * reported as they happen, and the success that brings a device back and wakes the
 * processes parked on it. A device with no row is up.
 */
import type { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';

/** What the breaker says before a call. */
export type GateAnswer =
  | { go: true; probe: boolean; downSince: Date | null }
  | { go: false; retryAt: Date; downSince: Date; lastError: DeviceError | null };

/** A failure as the breaker records it. */
export interface DeviceError {
  code: string;
  message: string;
  status?: number;
}

/** The breaker's answer to a failure: retry at `nextTry` (this process probes), or park until then. */
export interface FailureAnswer {
  retry: boolean;
  nextTry: Date;
  downSince: Date;
}

/** A device's state as `aos cpu` shows it. */
export interface DeviceHealth {
  device: string;
  state: 'up' | 'down';
  downSince: Date | null;
  lastError: DeviceError | null;
  lastFailureAt: Date | null;
  nextProbeAt: Date | null;
  failures: number;
}

/** Thrown through a driver's retries when the breaker says another process probes: the caller parks. */
export class DeviceDownError extends Error {
  override name = 'DeviceDownError';
  constructor(
    readonly failure: AosError,
    readonly answer: FailureAnswer,
  ) {
    super(failure.message);
  }
}

/** Whether a failed call is the device's fault (unreachable, overloaded, rate limited, too slow): retried, then parked. */
export function isDeviceFailure(error: AosError): boolean {
  return (
    error.retryable &&
    (error.code === 'unavailable' || error.code === 'timeout' || error.code === 'limit_exceeded')
  );
}

/** The failure as the breaker keeps it: code, message, HTTP status. */
export function deviceErrorOf(error: AosError): DeviceError {
  const status = error.details?.status;
  return { code: error.code, message: error.message, ...(typeof status === 'number' ? { status } : {}) };
}

/** Asks the breaker whether process `pid` may call `device` now. */
export async function deviceGate(db: Queryable, device: string, pid: number): Promise<GateAnswer> {
  const result = await db.query<{
    go: boolean;
    probe: boolean;
    retry_at: Date | null;
    down_since: Date | null;
    last_error: DeviceError | null;
  }>('select * from aos.device_gate($1, $2)', [device, pid]);
  const row = result.rows[0]!;
  if (row.go) return { go: true, probe: row.probe, downSince: row.down_since };
  return {
    go: false,
    retryAt: new Date(row.retry_at!),
    downSince: new Date(row.down_since!),
    lastError: row.last_error,
  };
}

/** Reports a failed attempt; `final` when the call's retries are over. */
export async function deviceFailed(
  db: Queryable,
  device: string,
  pid: number,
  error: AosError,
  retryAt: Date | null,
  final: boolean,
): Promise<FailureAnswer> {
  const result = await db.query<{ retry: boolean; next_try: Date; down_since: Date }>(
    'select * from aos.device_failed($1, $2, $3, $4, $5)',
    [device, pid, JSON.stringify(deviceErrorOf(error)), retryAt, final],
  );
  const row = result.rows[0]!;
  return { retry: row.retry, nextTry: new Date(row.next_try), downSince: new Date(row.down_since) };
}

/** A call succeeded: a device that was down is up, and its parked processes wake. True if it was down. */
export async function deviceUp(db: Queryable, device: string): Promise<boolean> {
  const result = await db.query<{ up: boolean }>('select aos.device_up($1) as up', [device]);
  return result.rows[0]?.up === true;
}

/** Keeps the per-minute limits a provider announced for a configured device. */
export async function deviceAnnounced(
  db: Queryable,
  device: string,
  limits: { requestsPerMinute?: number; tokensPerMinute?: number },
): Promise<void> {
  await db.query('select aos.device_announced($1, $2, $3)', [
    device,
    limits.requestsPerMinute ?? null,
    limits.tokensPerMinute ?? null,
  ]);
}

/** Every device the breaker has seen fail, with its state. */
export async function listDeviceHealth(db: Queryable): Promise<DeviceHealth[]> {
  const result = await db.query<{
    device: string;
    state: 'up' | 'down';
    down_since: Date | null;
    last_error: DeviceError | null;
    last_failure_at: Date | null;
    next_probe_at: Date | null;
    failures: number;
  }>('select * from aos.device_health order by device');
  return result.rows.map((row) => ({
    device: row.device,
    state: row.state,
    downSince: row.down_since,
    lastError: row.last_error,
    lastFailureAt: row.last_failure_at,
    nextProbeAt: row.state === 'down' ? row.next_probe_at : null,
    failures: row.failures,
  }));
}
