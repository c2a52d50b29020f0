/**
 * How a worker reaches into a running slice: KILL and a lost lease abort
 * everything in flight, INT aborts only the current model call, and shutdown asks
 * the slice to let go at its next step boundary.
 */
import type { SignalName } from './signals.js';

export class SliceControl {
  /** Aborts every call in flight: the process was killed or its lease is gone. */
  readonly everything = new AbortController();
  private modelCall: AbortController | undefined;
  /** The TERM grace of the model call in flight: TERM arriving during the call aborts it after this long. */
  private modelCallGraceMs: number | undefined;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  /** Signals that arrived by notification since the last journal write. */
  readonly arrived = new Set<SignalName>();
  shuttingDown = false;
  /**
   * Until when (performance.now(), this process's monotonic clock) the lease is surely
   * held: the send time of the last statement that set its expiry, plus the lease. The
   * database's expiry is at least that (it computed it later, from the same length).
   */
  heldUntil = Number.NEGATIVE_INFINITY;

  /** A statement sent at `sentAt` (performance.now()) set the lease to expire `leaseMs` after it ran. */
  extended(sentAt: number, leaseMs: number): void {
    this.heldUntil = Math.max(this.heldUntil, sentAt + leaseMs);
  }

  /** A signal reported for this process while it runs. */
  deliver(signal: SignalName): void {
    this.arrived.add(signal);
    if (signal === 'KILL') this.everything.abort(new Error('killed'));
    if (signal === 'INT') this.modelCall?.abort(new Error('interrupted'));
    // A call that never answers must not outlive the grace TERM gives: abort it then (the
    // boundary after it delivers TERM, whose grace counts from there).
    if (signal === 'TERM' && this.modelCall !== undefined && this.modelCallGraceMs !== undefined) {
      const call = this.modelCall;
      this.graceTimer ??= setTimeout(() => call.abort(new Error('TERM grace over')), this.modelCallGraceMs);
    }
  }

  /** The lease could not be renewed: stop writing and stop working. */
  leaseLost(): void {
    this.everything.abort(new Error('lease lost'));
  }

  /** An abort signal for one model call, aborted by INT, by `everything`, and `termGraceMs` after a TERM. */
  beginModelCall(termGraceMs?: number): AbortSignal {
    this.modelCall = new AbortController();
    this.modelCallGraceMs = termGraceMs;
    return AbortSignal.any([this.modelCall.signal, this.everything.signal]);
  }

  endModelCall(): void {
    this.modelCall = undefined;
    this.modelCallGraceMs = undefined;
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
  }
}
