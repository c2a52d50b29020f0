/**
 * The deadlines of one model call, as abort signals for the driver (they abort the attempt
 * in flight and the wait between retries): the process's own (the end of its wall time or
 * of its TERM grace) and the call's (the agent's model_timeout).
 */
import { AosError } from '../../errors.js';

/** A margin past the deadline, so that the boundary the call returns to sees it passed. */
const marginMs = 5;

export class CallDeadlines {
  /** The signals to abort the call with. */
  readonly signals: AbortSignal[] = [];
  private readonly process: AbortSignal | undefined;
  private readonly call: AbortSignal | undefined;
  private readonly timeoutMs: number | undefined;

  /** `processDeadline` in ms since the epoch; `timeoutMs` from the start of the call. */
  constructor(processDeadline: number | undefined, timeoutMs: number | undefined) {
    if (processDeadline !== undefined) {
      this.process = AbortSignal.timeout(Math.max(0, processDeadline - Date.now()) + marginMs);
      this.signals.push(this.process);
    }
    if (timeoutMs !== undefined) {
      this.timeoutMs = timeoutMs;
      this.call = AbortSignal.timeout(timeoutMs);
      this.signals.push(this.call);
    }
  }

  /** The process's wall time or TERM grace ended during the call. */
  processOver(): boolean {
    return this.process?.aborted === true;
  }

  /** The call took longer than its timeout. */
  callOver(): boolean {
    return this.call?.aborted === true;
  }

  /** The failure of a call that took longer than its timeout: the device's fault, as a call that never answers. */
  timeoutError(model: string): AosError {
    return new AosError(
      'timeout',
      `${model} did not answer within the model_timeout of ${this.timeoutMs} ms`,
      {
        hint: 'the endpoint is slow or hangs; raise model_timeout in the agent file if its answers take longer',
        retryable: true,
        details: { reason: 'model_timeout' },
      },
    );
  }
}
