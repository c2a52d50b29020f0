/**
 * Retries a provider call with exponential backoff, honouring how long the provider asked
 * to wait; a caller may gate each retry (the kernel asks the device's circuit breaker).
 */
import type { AosError } from '../errors.js';
import { abortableDelay } from './abortable-delay.js';
import type { RetryGate } from './model.js';

export interface RetryPolicy {
  /** Attempts after the first; default 4. */
  maxRetries: number;
  /** First backoff; doubles each time, with jitter; default 500 ms. */
  baseDelayMs: number;
  /** Longest wait between attempts; a provider asking for longer ends the retries (the kernel parks the process); default 30 s. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or retries run out.
 * The wait between attempts is what the provider asked (details.retryAfterMs), else the
 * backoff; `gate`, if given, sees each retryable failure with that wait and returns the wait
 * to use, or throws to stop. `signal` aborts an attempt and the wait alike.
 */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  classify: (error: unknown) => AosError,
  policy: RetryPolicy,
  signal: AbortSignal,
  gate?: RetryGate,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      const aosError = classify(error);
      if (!aosError.retryable || retry >= policy.maxRetries) throw aosError;
      const requested = aosError.details?.retryAfterMs;
      if (typeof requested === 'number' && requested > policy.maxDelayMs) throw aosError;
      const backoff = Math.min(
        policy.maxDelayMs,
        policy.baseDelayMs * 2 ** retry * (0.5 + Math.random() / 2),
      );
      const planned = typeof requested === 'number' ? requested : backoff;
      const delay = gate === undefined ? planned : await gate(aosError, planned);
      await abortableDelay(delay, signal);
    }
  }
}
