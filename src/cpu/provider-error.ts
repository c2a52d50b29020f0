/**
 * Provider failures as AosErrors, for both SDKs (duck-typed on status and headers):
 * which ones to retry, how long retry-after asks to wait, and a context-length
 * rejection that the memory manager can act on.
 */
import { AosError } from '../errors.js';
import { redactSecrets } from '../redact-secrets.js';

interface ApiErrorLike {
  status?: unknown;
  headers?: { get?(name: string): string | null } | Record<string, string>;
  message?: unknown;
  name?: unknown;
  constructor?: { name?: string };
}

/** What a driver needs to know to describe its provider in errors. */
export interface ProviderInfo {
  /** e.g. "openai" */
  name: string;
  baseUrl: string;
  /** The environment variable that holds the key, for hints. */
  keyVariable: string;
  /** The environment variable that holds the base URL, for hints. */
  urlVariable: string;
}

/** A provider answer that could not be parsed. Retryable. */
export class GarbageResponseError extends Error {
  override name = 'GarbageResponseError';
}

/** The request is longer than the model's context window. */
export function isContextLengthError(error: AosError): boolean {
  return error.details?.reason === 'context_length';
}

/** Classifies an SDK error; `retryAfterMs` is set when the provider said how long to wait. */
export function providerError(error: unknown, provider: ProviderInfo): AosError {
  if (error instanceof AosError) return error;
  const candidate = (error ?? {}) as ApiErrorLike;
  const className = candidate.constructor?.name ?? String(candidate.name ?? '');
  // A base URL may carry credentials (http://user:secret@host, ?api_key=): they never reach a message.
  const message = redactSecrets(typeof candidate.message === 'string' ? candidate.message : String(error));
  const status = typeof candidate.status === 'number' ? candidate.status : undefined;
  const where = `${provider.name} at ${redactSecrets(provider.baseUrl)}`;
  if (error instanceof GarbageResponseError) {
    return new AosError('unavailable', `${where} sent a response aos cannot read: ${message}`, {
      hint: 'the provider or proxy answered with something that is not its API format',
      retryable: true,
      cause: error,
    });
  }
  if (status === undefined) {
    if (className.includes('Abort'))
      return new AosError('timeout', `${where}: the request was aborted`, { cause: error });
    if (className.includes('Timeout')) {
      return new AosError('timeout', `${where} did not answer in time`, { retryable: true, cause: error });
    }
    return new AosError('unavailable', `${where} is unreachable: ${message}`, {
      hint: `check ${provider.urlVariable} and the network`,
      retryable: true,
      cause: error,
    });
  }
  const retryAfterMs = retryAfterOf(candidate.headers);
  const details = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 401 || status === 403) {
    return new AosError('unavailable', `${where} refused the API key (${status}): ${message}`, {
      hint: `set ${provider.keyVariable} to a valid key`,
      retryable: false,
      cause: error,
    });
  }
  if (status === 429) {
    return new AosError('limit_exceeded', `${where} rate limit (429): ${message}`, {
      hint: 'lower the endpoint limits in the aos config, or wait',
      retryable: true,
      cause: error,
      details,
    });
  }
  if (status >= 500) {
    return new AosError('unavailable', `${where} failed (${status}): ${message}`, {
      hint: 'the provider is down or overloaded; aos retries with backoff',
      retryable: true,
      cause: error,
      details,
    });
  }
  if (status === 400 && /context.length|too long|maximum context|context_length_exceeded/i.test(message)) {
    return new AosError(
      'invalid_input',
      `${where}: the request is longer than the model's context window: ${message}`,
      {
        hint: 'the memory manager evicts part of the context and retries',
        cause: error,
        details: { reason: 'context_length' },
      },
    );
  }
  if (status === 404) {
    return new AosError('not_found', `${where} (404): ${message}`, {
      hint: 'check the model name in the agent file',
      cause: error,
    });
  }
  return new AosError('invalid_input', `${where} rejected the request (${status}): ${message}`, {
    cause: error,
  });
}

function retryAfterOf(headers: ApiErrorLike['headers']): number | undefined {
  if (headers === undefined) return undefined;
  const value =
    typeof headers.get === 'function'
      ? headers.get('retry-after')
      : ((headers as Record<string, string>)['retry-after'] ?? null);
  if (value === null || value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}
