/**
 * What a provider's response headers say about its rate limits: how long to wait before
 * the next request (`retry-after-ms`, `retry-after` in seconds or as an HTTP date, the
 * `x-ratelimit-reset-*` and `anthropic-ratelimit-*-reset` headers) and the per-minute
 * limits it enforces, so that the device can ration to them.
 */

/** Headers as both SDKs hand them over: a fetch Headers object or a plain record. */
export type HeadersLike = { get?(name: string): string | null } | Record<string, string | undefined>;

/** The limits and waits a provider announced. */
export interface RateLimitInfo {
  /** How long the provider asked to wait, in ms. */
  retryAfterMs?: number;
  /** Requests per minute the provider allows. */
  requestsPerMinute?: number;
  /** Tokens per minute the provider allows. */
  tokensPerMinute?: number;
}

/** Reads one header, case-insensitively. */
export function headerOf(headers: HeadersLike | undefined, name: string): string | undefined {
  if (headers === undefined || headers === null) return undefined;
  if (typeof headers.get === 'function') return headers.get(name) ?? undefined;
  const record = headers as Record<string, string | undefined>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
  return key === undefined ? undefined : record[key];
}

/** The rate-limit facts in `headers`, `now` being the current time in ms. */
export function rateLimitInfoOf(headers: HeadersLike | undefined, now = Date.now()): RateLimitInfo {
  const info: RateLimitInfo = {};
  const retryAfterMs = retryAfterOf(headers, now);
  if (retryAfterMs !== undefined) info.retryAfterMs = retryAfterMs;
  const requests = positiveInteger(
    headerOf(headers, 'x-ratelimit-limit-requests') ??
      headerOf(headers, 'anthropic-ratelimit-requests-limit'),
  );
  if (requests !== undefined) info.requestsPerMinute = requests;
  const tokens = positiveInteger(
    headerOf(headers, 'x-ratelimit-limit-tokens') ??
      headerOf(headers, 'anthropic-ratelimit-input-tokens-limit') ??
      headerOf(headers, 'anthropic-ratelimit-tokens-limit'),
  );
  if (tokens !== undefined) info.tokensPerMinute = tokens;
  return info;
}

/**
 * How long the provider asked to wait, in ms: `retry-after-ms`, else `retry-after`, else the
 * latest reset among the limits it says are used up (remaining 0, or not said).
 */
export function retryAfterOf(headers: HeadersLike | undefined, now = Date.now()): number | undefined {
  const milliseconds = Number(headerOf(headers, 'retry-after-ms'));
  if (headerOf(headers, 'retry-after-ms') !== undefined && Number.isFinite(milliseconds)) {
    return Math.max(0, milliseconds);
  }
  const retryAfter = headerOf(headers, 'retry-after');
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (retryAfter.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const resets: number[] = [];
  for (const [reset, remaining] of resetHeaders) {
    const value = headerOf(headers, reset);
    if (value === undefined) continue;
    const left = headerOf(headers, remaining);
    if (left !== undefined && Number(left) > 0) continue;
    const wait = resetWaitOf(value, now);
    if (wait !== undefined) resets.push(wait);
  }
  return resets.length === 0 ? undefined : Math.max(...resets);
}

/** Reset headers with the remaining-count header that says whether their limit is used up. */
const resetHeaders: [string, string][] = [
  ['x-ratelimit-reset-requests', 'x-ratelimit-remaining-requests'],
  ['x-ratelimit-reset-tokens', 'x-ratelimit-remaining-tokens'],
  ['x-ratelimit-reset', 'x-ratelimit-remaining'],
  ['anthropic-ratelimit-requests-reset', 'anthropic-ratelimit-requests-remaining'],
  ['anthropic-ratelimit-tokens-reset', 'anthropic-ratelimit-tokens-remaining'],
  ['anthropic-ratelimit-input-tokens-reset', 'anthropic-ratelimit-input-tokens-remaining'],
  ['anthropic-ratelimit-output-tokens-reset', 'anthropic-ratelimit-output-tokens-remaining'],
];

/**
 * A reset as providers write it: a duration ("1s", "6m0s", "20ms", "1h2m3.5s": OpenAI), an
 * RFC 3339 time (Anthropic), or an epoch timestamp in seconds or ms (OpenRouter), as ms from `now`.
 */
export function resetWaitOf(value: string, now = Date.now()): number | undefined {
  const text = value.trim();
  const duration = durationMsOf(text);
  if (duration !== undefined) return duration;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const number = Number(text);
    // An epoch: seconds until 2286, else ms. A small plain number is seconds to wait.
    if (number > 1e12) return Math.max(0, number - now);
    if (number > 1e9) return Math.max(0, number * 1000 - now);
    return number * 1000;
  }
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };

function durationMsOf(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  if (parts.length === 0 || parts.map((part) => part[0]).join('') !== text) return undefined;
  return parts.reduce((sum, part) => sum + Number(part[1]) * units[part[2]!]!, 0);
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  return Number.isInteger(number) && number > 0 ? number : undefined;
}

/** The per-minute limits announced in a response's headers, or undefined when it names none. */
export function announcedLimitsOf(
  headers: HeadersLike | undefined,
): { requestsPerMinute?: number; tokensPerMinute?: number } | undefined {
  const { requestsPerMinute, tokensPerMinute } = rateLimitInfoOf(headers);
  if (requestsPerMinute === undefined && tokensPerMinute === undefined) return undefined;
  return {
    ...(requestsPerMinute === undefined ? {} : { requestsPerMinute }),
    ...(tokensPerMinute === undefined ? {} : { tokensPerMinute }),
  };
}
