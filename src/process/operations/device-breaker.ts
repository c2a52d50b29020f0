/**
 * A model call's side of the device's circuit breaker (src/cpu/device-health.ts): before the
 * call, whether the device may be called (or the process parks until the next probe); between
 * the driver's retries, whether this process is the one that retries (else it parks at once,
 * so that 200 processes do not each hammer a dead endpoint); after the call's retries, a park
 * (waiting, reason device, with the error and the next try) instead of a failure, unless the
 * agent says `on_device_failure: fail` or the outage has lasted its `max_outage`; and after a
 * success, the device up again, which wakes every process parked on it.
 */
import {
  DeviceDownError,
  type DeviceError,
  deviceAnnounced,
  deviceErrorOf,
  deviceFailed,
  deviceGate,
  deviceUp,
  isDeviceFailure,
} from '../../cpu/device-health.js';
import type { Device } from '../../cpu/devices.js';
import type { RetryGate } from '../../cpu/model.js';
import type { AosError } from '../../errors.js';
import type { Queryable } from '../../storage/db.js';
import type { AgentDefinition } from '../agent-definition.js';
import type { Block } from '../operation.js';

/** The breaker a model string's calls go through: its device's name, else the model string; none for the scripted CPU. */
export function breakerNameOf(model: string, device: Device | undefined): string | undefined {
  if (model.startsWith('scripted:')) return undefined;
  return device?.name ?? model;
}

/** A park on the device, for operation `op`. */
export interface DevicePark {
  block(op: number): Block;
}

type Policy = Pick<AgentDefinition, 'onDeviceFailure' | 'maxOutageMs'>;

/**
 * How long a device this worker saw answer counts as up without asking the breaker: the
 * round trip is saved on a busy device, and a call that goes out just after the device went
 * down fails once and parks, as one already in flight does.
 */
const trustedUpMs = 1000;
const answeredAt = new WeakMap<Queryable, Map<string, number>>();

function answers(db: Queryable): Map<string, number> {
  let known = answeredAt.get(db);
  if (known === undefined) {
    known = new Map();
    answeredAt.set(db, known);
  }
  return known;
}

export class DeviceBreaker {
  private probing = false;
  private failures = 0;

  constructor(
    private readonly db: Queryable,
    private readonly name: string | undefined,
    private readonly pid: number,
    private readonly policy: Policy,
  ) {}

  /**
   * Before the call: go, or park until the next probe. A process whose outage has lasted its
   * max_outage (or that fails on device failures) makes its call anyway: it fails, and the
   * failure is journaled.
   */
  async ask(): Promise<{ kind: 'go' } | ({ kind: 'park' } & DevicePark)> {
    if (this.name === undefined) return { kind: 'go' };
    const answered = answers(this.db).get(this.name);
    if (answered !== undefined && Date.now() - answered < trustedUpMs) return { kind: 'go' };
    const answer = await deviceGate(this.db, this.name, this.pid);
    if (answer.go) {
      this.probing = answer.probe;
      return { kind: 'go' };
    }
    const until = this.parkUntil(answer.retryAt, answer.downSince);
    if (until === undefined) return { kind: 'go' };
    return { kind: 'park', ...this.park(answer.lastError, until, answer.downSince) };
  }

  /** Between the driver's retries: report the failure; retry when this process probes the device, else park now. */
  readonly gate: RetryGate = async (error, plannedDelayMs) => {
    if (this.name === undefined || !isDeviceFailure(error)) return plannedDelayMs;
    this.failures += 1;
    answers(this.db).delete(this.name);
    const retryAt = new Date(Date.now() + plannedDelayMs);
    const answer = await deviceFailed(this.db, this.name, this.pid, error, retryAt, false);
    if (!answer.retry) throw new DeviceDownError(error, answer);
    return Math.max(0, answer.nextTry.getTime() - Date.now());
  };

  /** After the call failed with `failure` (`error` as thrown): the park, or undefined to fail the call. */
  async failed(error: unknown, failure: AosError): Promise<DevicePark | undefined> {
    if (this.name === undefined || !isDeviceFailure(failure)) return undefined;
    this.failures += 1;
    answers(this.db).delete(this.name);
    const answer =
      error instanceof DeviceDownError
        ? error.answer
        : await deviceFailed(this.db, this.name, this.pid, failure, retryAtOf(failure), true);
    const until = this.parkUntil(answer.nextTry, answer.downSince);
    return until === undefined ? undefined : this.park(deviceErrorOf(failure), until, answer.downSince);
  }

  /** After a success: a device this call probed or saw fail is up again, and its parked processes wake. */
  async succeeded(): Promise<void> {
    if (this.name === undefined) return;
    if (this.probing || this.failures > 0) await deviceUp(this.db, this.name);
    answers(this.db).set(this.name, Date.now());
  }

  /** Until when to park, or undefined when the agent fails instead (fail, or max_outage reached). */
  private parkUntil(nextTry: Date, downSince: Date): Date | undefined {
    if (this.policy.onDeviceFailure === 'fail') return undefined;
    if (this.policy.maxOutageMs === undefined) return nextTry;
    const outageEnds = downSince.getTime() + this.policy.maxOutageMs;
    if (outageEnds <= Date.now()) return undefined;
    return new Date(Math.min(nextTry.getTime(), outageEnds));
  }

  private park(error: DeviceError | null, until: Date, downSince: Date): DevicePark {
    const device = this.name!;
    return {
      block: (op) => ({
        state: 'waiting',
        reason: 'device',
        detail: {
          device,
          ...(error === null ? {} : { error }),
          downSince: downSince.toISOString(),
          nextTry: until.toISOString(),
        },
        callId: `op${op}`,
        wakeAt: until,
        device,
        seenWakeSeq: null,
      }),
    };
  }
}

function retryAtOf(error: AosError): Date | null {
  const wait = error.details?.retryAfterMs;
  return typeof wait === 'number' ? new Date(Date.now() + wait) : null;
}

const announced = new WeakMap<Queryable, Map<string, string>>();

/** Keeps the limits a provider announced on its device, writing only when they changed (as this worker knows). */
export async function announceLimits(
  db: Queryable,
  device: string,
  limits: { requestsPerMinute?: number; tokensPerMinute?: number },
): Promise<void> {
  let known = announced.get(db);
  if (known === undefined) {
    known = new Map();
    announced.set(db, known);
  }
  const key = JSON.stringify(limits);
  if (known.get(device) === key) return;
  await deviceAnnounced(db, device, limits);
  known.set(device, key);
}
