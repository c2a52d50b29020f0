/**
 * Provider failures as AosErrors: the one place that reads a provider's answer for every
 * driver (duck-typed on the SDK errors' status and headers, with the raw body that
 * provider-fetch kept). It says which failures to retry and how long the provider asked to
 * wait, recognises a context-length rejection from every provider (by code first, then by
 * wording) so the memory manager can page out, and keeps messages short: an HTML page or
 * a long body goes, truncated, into the error's details.
 */
import { AosError } from '../errors.js';
import { redactSecrets } from '../redact-secrets.js';
import { errorBodyOf } from './provider-fetch.js';
import { type HeadersLike, rateLimitInfoOf } from './rate-limit-headers.js';

interface ApiErrorLike {
  status?: unknown;
  headers?: HeadersLike;
  message?: unknown;
  name?: unknown;
  error?: unknown;
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

/** What an error body says, whatever the provider's shape. */
export interface ProviderAnswer {
  message?: string;
  code?: string;
  type?: string;
  /** The body was not JSON (an HTML page from a proxy, plain text). */
  notJson?: boolean;
}

/** Longest provider message kept in an error's message; the body goes in details. */
const maxMessageLength = 300;
/** Longest body kept in an error's details. */
const maxBodyLength = 2000;

/**
 * Error codes and types that mean "the prompt does not fit the context window": OpenAI, Azure,
 * DeepSeek, OpenRouter (context_length_exceeded), llama.cpp (exceed_context_size_error).
 */
const contextLengthCodes = new Set(['context_length_exceeded', 'exceed_context_size_error']);

/**
 * Wordings of the same rejection: OpenAI ("maximum context length", "Input tokens exceed the
 * configured limit"), vLLM, DeepSeek, OpenRouter ("maximum context length"), Anthropic ("prompt
 * is too long", "exceed context limit"), Gemini ("input token count ... exceeds the maximum"),
 * llama.cpp ("exceeds the available context size"), Ollama ("input length exceeds the context
 * length"), LM Studio ("greater than the context length", "when context the overflows"),
 * Mistral ("too large for model with ... maximum context length").
 */
const contextLengthWordings = [
  /maximum context length/i,
  /context[_ ]length[_ ]exceeded/i,
  /input tokens exceed the configured limit/i,
  /prompt is too long/i,
  /exceed(s|ed)? (the )?context (limit|window)/i,
  /input token count.*exceeds the maximum/i,
  /exceeds the available context size/i,
  /input length exceeds the context length/i,
  /greater than the context length/i,
  /when context the overflows/i,
  /context (length|window|size) (of \d+ tokens )?(was |is |has been )?exceeded/i,
  /too (long|large) for (the )?(model|context)/i,
];

/** Classifies an SDK error; `details.retryAfterMs` is set when the provider said how long to wait. */
export function providerError(error: unknown, provider: ProviderInfo): AosError {
  if (error instanceof AosError) return error;
  const candidate = (error ?? {}) as ApiErrorLike;
  const className = candidate.constructor?.name ?? String(candidate.name ?? '');
  const status = typeof candidate.status === 'number' ? candidate.status : undefined;
  const where = `${provider.name} at ${redactSecrets(provider.baseUrl)}`;
  if (error instanceof GarbageResponseError) {
    return new AosError('unavailable', `${where} sent a response aos cannot read: ${short(error.message)}`, {
      hint: 'the provider or proxy answered with something that is not its API format',
      retryable: true,
      cause: error,
    });
  }
  if (status === undefined) {
    const message = short(typeof candidate.message === 'string' ? candidate.message : String(error));
    if (className.includes('Abort'))
      return new AosError('timeout', `${where}: the request was aborted`, { cause: error });
    if (className.includes('Timeout')) {
      return new AosError('timeout', `${where} did not answer in time`, { retryable: true, cause: error });
    }
    // An error event inside a stream: the SDK has no status, the provider's words say what it is.
    if (contextLengthWordings.some((wording) => wording.test(message))) {
      return contextLengthError(where, message, error, {});
    }
    return new AosError('unavailable', `${where} is unreachable: ${message}`, {
      hint: `check ${provider.urlVariable} and the network`,
      retryable: true,
      cause: error,
    });
  }
  const raw = errorBodyOf(candidate.headers);
  const answer = raw === undefined ? answerOf(candidate.error) : answerOfText(raw);
  const said = short(answer.message ?? sdkMessageOf(candidate.message, status));
  const limits = rateLimitInfoOf(candidate.headers);
  const details: Record<string, unknown> = {
    status,
    ...(answer.code === undefined ? {} : { providerCode: answer.code }),
    ...(limits.retryAfterMs === undefined ? {} : { retryAfterMs: limits.retryAfterMs }),
    ...(raw !== undefined && (answer.notJson || raw.length > maxMessageLength)
      ? { body: truncate(redactSecrets(raw), maxBodyLength) }
      : {}),
  };
  return classify(status, answer, said, where, provider, details, error);
}

/** The AosError for a provider's HTTP answer of `status`. */
function classify(
  status: number,
  answer: ProviderAnswer,
  said: string,
  where: string,
  provider: ProviderInfo,
  details: Record<string, unknown>,
  cause: unknown,
): AosError {
  if (status === 401 || status === 403) {
    return new AosError('unavailable', `${where} refused the API key (${status}): ${said}`, {
      hint: `set ${provider.keyVariable} to a valid key`,
      retryable: false,
      cause,
      details,
    });
  }
  if (isContextLength(status, answer, said)) return contextLengthError(where, said, cause, details);
  if (status === 429) {
    const quota = answer.code === 'insufficient_quota' || answer.type === 'insufficient_quota';
    return new AosError('limit_exceeded', `${where} rate limit (429): ${said}`, {
      hint: quota
        ? 'the account is out of credit or quota'
        : 'lower the device limits (aos cpu set), or wait',
      retryable: !quota,
      cause,
      details,
    });
  }
  if (status >= 500 || status === 408) {
    return new AosError('unavailable', `${where} failed (${status}): ${said}`, {
      hint: 'the provider is down or overloaded; aos retries with backoff',
      retryable: true,
      cause,
      details,
    });
  }
  if (status === 404) {
    return new AosError('not_found', `${where} (404): ${said}`, {
      hint: 'check the model name in the agent file, and the base URL',
      cause,
      details,
    });
  }
  return new AosError('invalid_input', `${where} rejected the request (${status}): ${said}`, {
    cause,
    details,
  });
}

function contextLengthError(
  where: string,
  said: string,
  cause: unknown,
  details: Record<string, unknown>,
): AosError {
  return new AosError(
    'invalid_input',
    `${where}: the request is longer than the model's context window: ${said}`,
    {
      hint: 'the memory manager evicts part of the context and retries',
      cause,
      details: { ...details, reason: 'context_length' },
    },
  );
}

/** A context-length rejection: by code or type first, then by wording (never a rate limit or a key refusal). */
export function isContextLength(status: number, answer: ProviderAnswer, message: string): boolean {
  if (answer.code !== undefined && contextLengthCodes.has(answer.code)) return true;
  if (answer.type !== undefined && contextLengthCodes.has(answer.type)) return true;
  if (status === 429 || status === 401 || status === 403) return false;
  return contextLengthWordings.some((wording) => wording.test(message));
}

/** What a raw error body says: JSON in any provider's shape, else not JSON (HTML, text). */
export function answerOfText(text: string): ProviderAnswer {
  try {
    return answerOf(JSON.parse(text));
  } catch {
    const trimmed = text.trim();
    if (trimmed === '') return {};
    if (/^<(!doctype|html|\?xml|head|body)/i.test(trimmed)) {
      const title = /<title[^>]*>([^<]*)<\/title>/i.exec(trimmed)?.[1]?.trim();
      return { message: `an HTML page${title ? ` ("${short(title, 80)}")` : ''}`, notJson: true };
    }
    return { message: trimmed, notJson: true };
  }
}

/**
 * What a parsed error body says: `{error: {message, code, type}}` (OpenAI, Azure, DeepSeek,
 * OpenRouter, llama.cpp, Anthropic's `{type: 'error', error}`), `{error: "text"}` (Ollama),
 * `{object: 'error', message, code, type}` (vLLM before 0.8), `[{error: {...}}]` (Gemini).
 */
export function answerOf(body: unknown): ProviderAnswer {
  if (Array.isArray(body)) return answerOf(body[0]);
  if (typeof body === 'string') return { message: body };
  if (body === null || typeof body !== 'object') return {};
  const record = body as Record<string, unknown>;
  if (typeof record.error === 'string') return { message: record.error };
  if (record.error !== null && typeof record.error === 'object') return answerOf(record.error);
  const answer: ProviderAnswer = {};
  if (typeof record.message === 'string') answer.message = record.message;
  else if (typeof record.detail === 'string') answer.message = record.detail;
  if (typeof record.code === 'string') answer.code = record.code;
  else if (typeof record.status === 'string') answer.code = record.status;
  if (typeof record.type === 'string') answer.type = record.type;
  return answer;
}

/** The SDK's own message, without the status it prefixes. */
function sdkMessageOf(message: unknown, status: number): string {
  const text = typeof message === 'string' ? message : '';
  return text.replace(new RegExp(`^${status}\\s*`), '') || `status ${status}`;
}

/** One line, secrets redacted, at most `length` characters. */
function short(text: string, length = maxMessageLength): string {
  return truncate(redactSecrets(text).replace(/\s+/g, ' ').trim(), length);
}

function truncate(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}
