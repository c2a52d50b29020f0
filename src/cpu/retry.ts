/** Retries a provider call with exponential backoff, honouring retry-after. */
import type { AosError } from '../errors.js';
import { abortableDelay } from './abortable-delay.js';

export interface RetryPolicy {
  /** Attempts after the first; default 4. */
  maxRetries: number;
  /** First backoff; doubles each time, with jitter; default 500 ms. */
  baseDelayMs: number;
  /** Longest wait between attempts; default 30 s. */
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { maxRetries: 4, baseDelayMs: 500, maxDelayMs: 30_000 };

/** Runs `attempt` until it succeeds, fails with a non-retryable error, or retries run out. */
export async function withRetries<T>(
  attempt: () => Promise<T>,
  classify: (error: unknown) => AosError,
  policy: RetryPolicy,
  signal: AbortSignal,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal.aborted) throw signal.reason ?? error;
      const aosError = classify(error);
      if (!aosError.retryable || retry >= policy.maxRetries) throw aosError;
      const requested = aosError.details?.retryAfterMs;
      const backoff = Math.min(
        policy.maxDelayMs,
        policy.baseDelayMs * 2 ** retry * (0.5 + Math.random() / 2),
      );
      await abortableDelay(
        typeof requested === 'number' ? Math.min(requested, policy.maxDelayMs) : backoff,
        signal,
      );
    }
  }
}
