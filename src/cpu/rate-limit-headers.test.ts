import { describe, expect, it } from 'vitest';
import { announcedLimitsOf, rateLimitInfoOf, resetWaitOf, retryAfterOf } from './rate-limit-headers.js';

const now = Date.parse('2026-12-04T18:00:00Z');

describe('rate-limit headers', () => {
  it('prefers retry-after-ms, then retry-after (seconds or an HTTP date)', () => {
    expect(retryAfterOf({ 'retry-after-ms': '2500', 'retry-after': '3' }, now)).toBe(2500);
    expect(retryAfterOf({ 'Retry-After': '3' }, now)).toBe(3000);
    expect(retryAfterOf({ 'retry-after': 'Fri, 04 Dec 2026 18:00:30 GMT' }, now)).toBe(30_000);
    expect(retryAfterOf({ 'retry-after': 'Fri, 04 Dec 2026 17:00:00 GMT' }, now)).toBe(0);
    expect(retryAfterOf(new Headers({ 'retry-after-ms': '40' }), now)).toBe(40);
    expect(retryAfterOf({}, now)).toBeUndefined();
  });

  it('reads the resets of used-up limits only, the latest winning', () => {
    const headers = {
      'x-ratelimit-remaining-requests': '12',
      'x-ratelimit-reset-requests': '30s',
      'x-ratelimit-remaining-tokens': '0',
      'x-ratelimit-reset-tokens': '1m2.5s',
    };
    expect(retryAfterOf(headers, now)).toBe(62_500);
    expect(retryAfterOf({ 'anthropic-ratelimit-requests-reset': '2026-12-04T18:00:10Z' }, now)).toBe(10_000);
    expect(retryAfterOf({ 'x-ratelimit-reset': String(now + 4000), 'x-ratelimit-remaining': '0' }, now)).toBe(
      4000,
    );
  });

  it('parses the reset formats providers use', () => {
    expect(resetWaitOf('20ms', now)).toBe(20);
    expect(resetWaitOf('6m0s', now)).toBe(360_000);
    expect(resetWaitOf('1h2m3.5s', now)).toBe(3_723_500);
    expect(resetWaitOf(String(now / 1000 + 5), now)).toBe(5000);
    expect(resetWaitOf('2', now)).toBe(2000);
    expect(resetWaitOf('soon', now)).toBeUndefined();
  });

  it('reads the per-minute limits announced', () => {
    expect(
      rateLimitInfoOf({ 'x-ratelimit-limit-requests': '500', 'x-ratelimit-limit-tokens': '30000' }),
    ).toEqual({
      requestsPerMinute: 500,
      tokensPerMinute: 30_000,
    });
    expect(announcedLimitsOf({ 'anthropic-ratelimit-requests-limit': '50' })).toEqual({
      requestsPerMinute: 50,
    });
    expect(announcedLimitsOf({ 'x-ratelimit-limit-requests': 'lots' })).toBeUndefined();
  });
});
