/**
 * The fetch both SDKs are given: it keeps the text of every error response, keyed by the
 * response's headers (the SDKs put that very object on their errors), because an SDK drops
 * a body it does not recognise (vLLM's 400 without a nested `error` becomes "400 status
 * code (no body)"); and it reports the rate-limit headers of every response.
 */
import type { HeadersLike } from './rate-limit-headers.js';

const errorBodies = new WeakMap<object, string>();

/** The text of the error response whose headers are `headers`, if this fetch saw it. */
export function errorBodyOf(headers: HeadersLike | undefined): string | undefined {
  return headers !== null && typeof headers === 'object' ? errorBodies.get(headers) : undefined;
}

/** A fetch that remembers error bodies and hands each response's headers to `onHeaders`. */
export function createProviderFetch(onHeaders?: (headers: Headers) => void): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    onHeaders?.(response.headers);
    if (response.ok) return response;
    const text = await response.text();
    const copy = new Response(text, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
    errorBodies.set(copy.headers, text);
    return copy;
  };
}
