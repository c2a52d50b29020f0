/**
 * The engine shared by the mock model providers (mock-openai-server.ts, mock-anthropic-server.ts):
 * a node:http server that records every request, waits a set latency, enforces requests and
 * tokens per minute in sliding one-minute windows, counts prompt tokens, simulates the providers'
 * prefix caches and answers from a script. Each provider file supplies only its wire format.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from 'gpt-tokenizer';

/** A tool call of the mock model; `arguments` given as a string is sent verbatim, even if not JSON. */
export interface MockToolCall {
  name: string;
  arguments?: Record<string, unknown> | string;
  /** Default: generated (call_mock_N_I, toolu_mock_N_I). */
  id?: string;
}

/**
 * One scripted answer; the first of `error`, `contextTooLong`, `garbage` that is set wins, else a
 * completion. `stopReason` is translated between providers (stop/end_turn, tool_calls/tool_use,
 * length/max_tokens); default tool_calls when there are tool calls, else stop. `garbage`: true or
 * 'invalid-json' sends a body or stream event that is not JSON; 'truncated-stream' drops the
 * connection halfway through the body or stream.
 */
export interface MockReply {
  text?: string;
  toolCalls?: MockToolCall[];
  stopReason?: string;
  /**
   * An HTTP error in the provider's error JSON, or `body` verbatim (a string as it is, with
   * `contentType`, default application/json), with `headers` (retry-after-ms, x-ratelimit-*).
   */
  error?: {
    status: number;
    message?: string;
    body?: unknown;
    retryAfterSeconds?: number;
    headers?: Record<string, string>;
    contentType?: string;
  };
  /** Headers of a successful answer (x-ratelimit-limit-requests, ...). */
  headers?: Record<string, string>;
  /** false: no usage at all in the answer, as Ollama and some proxies send. */
  usage?: false;
  /** false: tool-call deltas without `index`, each call whole in one delta (Gemini's OpenAI-compatible endpoint). */
  toolCallIndex?: false;
  /** The provider's 400 for a prompt longer than the context window. */
  contextTooLong?: boolean;
  garbage?: boolean | 'invalid-json' | 'truncated-stream';
}

/** Chooses the answer to the `index`-th scripted request (0-based); may be async. */
export type MockResponder = (request: RecordedRequest, index: number) => MockReply | Promise<MockReply>;

/**
 * A request as the mock received it: `path` without the query string, `headers` with lower-case
 * names, `body` parsed ({} unless a JSON object; `rawBody` has the text), `at` in ms since the epoch,
 * `inputTokens` counted (completion requests only), `lastUserText` the text of the last user message,
 * `status` the HTTP status of the answer once sent.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  rawBody: string;
  at: number;
  inputTokens: number;
  lastUserText: string;
  status?: number;
}

/**
 * Counters since the start or the last reset: HTTP requests, completions sent, 429s sent (by the
 * rate limiter or the script), and the completions' tokens (input includes cache reads and writes).
 */
export interface MockStats {
  requests: number;
  completions: number;
  rateLimited: number;
  inputTokens: number;
  cachedTokens: number;
  cacheCreationTokens: number;
  outputTokens: number;
}

/** Options of startMockOpenAI and startMockAnthropic; all optional. */
export interface MockOptions {
  /** Answers in order, the last one repeating, or a function; default [{ text: 'ok' }]. */
  replies?: MockReply[] | MockResponder;
  /** Milliseconds to wait before answering any request; default 0. */
  latencyMs?: number;
  /** Sliding one-minute limits; default unlimited. Refused requests do not count. */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** The prefix cache, or false for none; default 1,024 tokens minimum, reads in 128-token blocks (1: exact), 50 entries. */
  cache?: false | { minTokens?: number; blockSize?: number; capacity?: number };
  /** Prompts of more tokens get the context-length error; default unlimited. */
  contextWindow?: number;
  /** When set, requests with another key get a 401. */
  apiKey?: string;
  /** Model ids listed by GET /v1/models (OpenAI); default ['mock-model']. */
  models?: string[];
  /** Default 127.0.0.1 on a free port. */
  host?: string;
  port?: number;
  /** The clock of the rate-limit windows (ms); default Date.now. */
  now?: () => number;
}

/** A running mock provider. */
export interface MockServer {
  /** http://host:port, no trailing slash. */
  url: string;
  requests: RecordedRequest[];
  stats: MockStats;
  /** Replaces the replies (undefined: the default) and starts again from the first. */
  respondWith(replies: MockOptions['replies']): void;
  /** Clears requests, counters, cache and rate-limit windows, and restarts the replies. */
  reset(): void;
  close(): Promise<void>;
}

/** A piece of a serialized prompt in the provider's cache order; `breakpoint` ends a cacheable prefix. */
export type PromptSegment = { text: string; breakpoint?: boolean };
/** What an adapter reads from a completion request. */
export type ParsedPrompt = {
  model: string;
  stream: boolean;
  segments: PromptSegment[];
  lastUserText: string;
};
/** Token counts of one completion; `inputTokens` includes cache reads and writes. */
export type MockUsage = {
  inputTokens: number;
  outputTokens: number;
  cacheRead: number;
  cacheCreation: number;
};
/** One server-sent event; `data` already serialized. */
export type SseEvent = { event?: string; data: string };

/** The wire format of one provider (internal to src/testing). */
export interface ProviderAdapter<P extends ParsedPrompt> {
  completionPath: string;
  /** 'prefix': any shared prefix counts, in blocks (OpenAI); 'breakpoints': cache_control prefixes (Anthropic). */
  cacheMode: 'prefix' | 'breakpoints';
  requestIdHeader: string;
  apiKeyOf(headers: IncomingHttpHeaders): string | undefined;
  /** Throws MockRequestError for a body the real API would refuse. */
  parse(body: Record<string, unknown>): P;
  render(reply: MockReply, usage: MockUsage, prompt: P, sequence: number): { json: unknown } | SseEvent[];
  errorBody(error: {
    status: number;
    message?: string | undefined;
    type?: string | undefined;
    requestId: string;
  }): unknown;
  contextLengthBody(tokens: number, limit: number | undefined, requestId: string): unknown;
  /** JSON for a GET route, or undefined for a 404. */
  get?(path: string, models: string[]): unknown;
}

/** A request the real API would refuse with a 400. */
export class MockRequestError extends Error {
  override name = 'MockRequestError';
}

const defaultReplies: MockReply[] = [{ text: 'ok' }];
const encodeOptions = { disallowedSpecial: new Set<string>() };

/** Tokens of a text as the mocks count them (gpt-tokenizer o200k; special tokens read as text). */
export function countMockTokens(text: string): number {
  return encode(text, encodeOptions).length;
}

/** Starts a mock provider that speaks `adapter`'s wire format. */
export async function startMockServer<P extends ParsedPrompt>(
  adapter: ProviderAdapter<P>,
  options: MockOptions = {},
): Promise<MockServer> {
  const cacheOptions = options.cache === false ? undefined : (options.cache ?? {});
  const minTokens = cacheOptions?.minTokens ?? 1024;
  const blockSize = cacheOptions?.blockSize ?? 128;
  const limits = { requestsPerMinute: options.requestsPerMinute, tokensPerMinute: options.tokensPerMinute };
  const fresh = () => ({
    cache: new PrefixCache(cacheOptions?.capacity ?? 50),
    limiter: new SlidingWindowLimiter(limits, options.now ?? Date.now),
  });
  let state = fresh();
  let replies = options.replies ?? defaultReplies;
  let scripted = 0;
  const requests: RecordedRequest[] = [];
  const stats = emptyStats();

  /** Cache reads in whole blocks from `minTokens` (only prefixes ending at a breakpoint, if the provider has them). */
  function cacheUsage(tokens: number[], breakpoints: number[]): { read: number; creation: number } {
    if (cacheOptions === undefined) return { read: 0, creation: 0 };
    const blocks = (count: number) => (count >= minTokens ? Math.floor(count / blockSize) * blockSize : 0);
    if (adapter.cacheMode === 'prefix') {
      const shared = state.cache.sharedPrefix(tokens);
      if (tokens.length >= minTokens) state.cache.remember(tokens);
      return { read: blocks(shared), creation: 0 };
    }
    const last = Math.max(0, ...breakpoints);
    const stored = state.cache.storedPrefix(tokens, last);
    for (const end of breakpoints) if (end >= minTokens) state.cache.remember(tokens.slice(0, end));
    // What a cached prefix holds beyond its last whole block is neither read nor written: plain input.
    return { read: blocks(stored), creation: last >= minTokens && last > stored ? last - stored : 0 };
  }

  async function answer(record: RecordedRequest, response: ServerResponse, requestId: string): Promise<void> {
    if ((options.latencyMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      if (status === 429) stats.rateLimited += 1;
      sendJson(response, record, status, body, {
        'content-type': 'application/json',
        [adapter.requestIdHeader]: requestId,
        ...headers,
      });
    };
    const fail = (status: number, message?: string, type?: string, headers?: Record<string, string>) =>
      send(status, adapter.errorBody({ status, message, type, requestId }), headers);
    const tooLong = (tokens: number) =>
      send(400, adapter.contextLengthBody(tokens, options.contextWindow, requestId));
    if (options.apiKey !== undefined && adapter.apiKeyOf(record.headers) !== options.apiKey) return fail(401);
    const listed =
      record.method === 'GET' ? adapter.get?.(record.path, options.models ?? ['mock-model']) : undefined;
    if (listed !== undefined) return send(200, listed);
    if (record.method !== 'POST' || record.path !== adapter.completionPath) {
      return fail(404, `no route ${record.method} ${record.path}`);
    }
    let prompt: P;
    try {
      prompt = adapter.parse(record.body);
    } catch (error) {
      if (error instanceof MockRequestError) return fail(400, error.message);
      throw error;
    }
    const { tokens, breakpoints } = tokenize(prompt.segments);
    record.inputTokens = tokens.length;
    record.lastUserText = prompt.lastUserText;
    const refusal = state.limiter.admit(tokens.length);
    if (refusal !== undefined)
      return fail(429, refusal.message, refusal.limit, retryAfter(refusal.retryAfter));
    if (options.contextWindow !== undefined && tokens.length > options.contextWindow)
      return tooLong(tokens.length);
    const index = scripted++;
    const reply =
      typeof replies === 'function'
        ? await replies(record, index)
        : (replies[Math.min(index, replies.length - 1)] ?? defaultReplies[0]!);
    if (reply.error !== undefined) {
      const { status, message, body, retryAfterSeconds, contentType } = reply.error;
      const headers = {
        ...retryAfter(retryAfterSeconds),
        ...(contentType === undefined ? {} : { 'content-type': contentType }),
        ...reply.error.headers,
      };
      if (body !== undefined) return send(status, body, headers);
      return fail(status, message, undefined, headers);
    }
    if (reply.contextTooLong) return tooLong(tokens.length);
    const cache = cacheUsage(tokens, breakpoints);
    const usage: MockUsage = {
      inputTokens: tokens.length,
      outputTokens: Math.max(1, countMockTokens((reply.text ?? '') + toolCallsText(reply))),
      cacheRead: cache.read,
      cacheCreation: cache.creation,
    };
    stats.completions += 1;
    stats.inputTokens += usage.inputTokens;
    stats.outputTokens += usage.outputTokens;
    stats.cachedTokens += usage.cacheRead;
    stats.cacheCreationTokens += usage.cacheCreation;
    record.status = 200;
    const garbage = reply.garbage === true ? 'invalid-json' : reply.garbage || undefined;
    const rendered = adapter.render(reply, usage, prompt, stats.completions);
    writeCompletion(response, rendered, garbage, { [adapter.requestIdHeader]: requestId, ...reply.headers });
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const record: RecordedRequest = {
        method: request.method ?? 'GET',
        path: new URL(request.url ?? '/', 'http://mock').pathname,
        headers: request.headers,
        body: parseObject(rawBody),
        rawBody,
        at: Date.now(),
        inputTokens: 0,
        lastUserText: '',
      };
      requests.push(record);
      stats.requests += 1;
      const requestId = `req_mock_${stats.requests}`;
      answer(record, response, requestId).catch((error: unknown) => {
        // A responder that throws is a bug in the test: a 500 with its message makes it visible.
        const body = adapter.errorBody({ status: 500, message: `mock server: ${String(error)}`, requestId });
        if (response.headersSent) response.destroy();
        else sendJson(response, record, 500, body, { 'content-type': 'application/json' });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    requests,
    stats,
    respondWith(next) {
      replies = next ?? defaultReplies;
      scripted = 0;
    },
    reset() {
      requests.length = 0;
      Object.assign(stats, emptyStats());
      state = fresh();
      scripted = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Cuts a text into pieces of at most `size` characters, as a stream delivers it. */
export function fragmentsOf(text: string, size = 12): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

/** The text of message content: a string, or the text parts and tool results of a block list. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const texts = content.map((part: unknown) =>
    isObject(part) ? (typeof part.text === 'string' ? part.text : textOf(part.content)) : '',
  );
  return texts.filter((text) => text !== '').join('\n');
}

/** A tool call's arguments as JSON text (a string verbatim). */
export function argumentsText(call: MockToolCall): string {
  return typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments ?? {});
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function tokenize(segments: PromptSegment[]): { tokens: number[]; breakpoints: number[] } {
  const tokens: number[] = [];
  const breakpoints: number[] = [];
  for (const segment of segments) {
    for (const token of encode(segment.text, encodeOptions)) tokens.push(token);
    if (segment.breakpoint) breakpoints.push(tokens.length);
  }
  return { tokens, breakpoints };
}

function toolCallsText(reply: MockReply): string {
  return (reply.toolCalls ?? []).map((call) => call.name + argumentsText(call)).join('');
}

function sendJson(
  response: ServerResponse,
  record: RecordedRequest,
  status: number,
  body: unknown,
  headers: Record<string, string>,
): void {
  record.status = status;
  if (response.headersSent) return;
  response.writeHead(status, headers);
  response.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** Writes a completion as JSON or SSE, broken on purpose when the script asks for garbage. */
function writeCompletion(
  response: ServerResponse,
  rendered: { json: unknown } | SseEvent[],
  garbage: 'invalid-json' | 'truncated-stream' | undefined,
  headers: Record<string, string>,
): void {
  let text: string;
  if (Array.isArray(rendered)) {
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
    const events = garbage === 'invalid-json' ? [rendered[0], { ...rendered[0], data: '{"id": ' }] : rendered;
    text = events
      .map((item) => `${item?.event ? `event: ${item.event}\n` : ''}data: ${item?.data}\n\n`)
      .join('');
  } else {
    response.writeHead(200, { 'content-type': 'application/json', ...headers });
    text =
      garbage === 'invalid-json'
        ? '<html><body>502 Bad Gateway</body></html>'
        : JSON.stringify(rendered.json);
  }
  // Truncated: half the body, then the connection drops (a chunked body that never ends).
  if (garbage === 'truncated-stream')
    response.write(text.slice(0, text.length / 2), () => response.destroy());
  else response.end(text);
}

function retryAfter(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {}; // the adapter refuses it with a 400; rawBody keeps what was sent
  }
}

function emptyStats(): MockStats {
  return {
    requests: 0,
    completions: 0,
    rateLimited: 0,
    inputTokens: 0,
    cachedTokens: 0,
    cacheCreationTokens: 0,
    outputTokens: 0,
  };
}

/** Why a request was refused (the limit passed) and in how many whole seconds it would fit. */
export interface RateLimitRefusal {
  limit: 'requests' | 'tokens';
  retryAfter: number;
  message: string;
}

const windowMs = 60_000;

/** Requests and tokens admitted in the last minute, against per-minute limits (absent: unlimited). */
export class SlidingWindowLimiter {
  private readonly admitted: { at: number; tokens: number }[] = [];

  constructor(
    private readonly limits: { requestsPerMinute?: number | undefined; tokensPerMinute?: number | undefined },
    private readonly now: () => number = Date.now,
  ) {}

  /** Admits a request of `tokens` input tokens, or says which limit refuses it and until when. */
  admit(tokens: number): RateLimitRefusal | undefined {
    const now = this.now();
    while (this.admitted[0] !== undefined && this.admitted[0].at <= now - windowMs) this.admitted.shift();
    const { requestsPerMinute: maxRequests, tokensPerMinute: maxTokens } = this.limits;
    if (maxRequests !== undefined && this.admitted.length >= maxRequests) {
      const freedAt = this.admitted[this.admitted.length - maxRequests]!.at + windowMs;
      return refusal('requests', maxRequests, this.admitted.length, 1, freedAt - now);
    }
    const used = this.admitted.reduce((sum, entry) => sum + entry.tokens, 0);
    if (maxTokens !== undefined && used + tokens > maxTokens) {
      // It fits once enough of the oldest entries leave the window; one too big alone waits a whole window.
      let excess = used + tokens - maxTokens;
      let waitMs = windowMs;
      for (const entry of tokens > maxTokens ? [] : this.admitted) {
        excess -= entry.tokens;
        if (excess > 0) continue;
        waitMs = entry.at + windowMs - now;
        break;
      }
      return refusal('tokens', maxTokens, used, tokens, waitMs);
    }
    this.admitted.push({ at: now, tokens });
    return undefined;
  }
}

function refusal(limit: 'requests' | 'tokens', max: number, used: number, requested: number, waitMs: number) {
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  const message = `Rate limit reached for ${limit} per min: Limit ${max}, Used ${used}, Requested ${requested}. Please try again in ${retryAfter}s.`;
  return { limit, retryAfter, message };
}

/** The token prefixes of recent requests, at most `capacity`, the oldest dropped first. */
export class PrefixCache {
  private readonly entries: number[][] = [];

  constructor(private readonly capacity = 50) {}

  /** The longest prefix `tokens` shares with any entry (OpenAI caches automatically). */
  sharedPrefix(tokens: number[]): number {
    return Math.max(0, ...this.entries.map((entry) => commonPrefix(entry, tokens)));
  }

  /** The longest entry of at most `limit` tokens that is a whole prefix of `tokens` (Anthropic's breakpoints). */
  storedPrefix(tokens: number[], limit: number): number {
    const whole = this.entries.filter(
      (entry) => entry.length <= limit && commonPrefix(entry, tokens) === entry.length,
    );
    return Math.max(0, ...whole.map((entry) => entry.length));
  }

  /** Stores a prefix; an equal entry moves to the newest place. */
  remember(tokens: number[]): void {
    const index = this.entries.findIndex(
      (entry) => entry.length === tokens.length && commonPrefix(entry, tokens) === tokens.length,
    );
    if (index >= 0) this.entries.splice(index, 1);
    this.entries.push(tokens);
    if (this.entries.length > this.capacity) this.entries.shift();
  }
}

function commonPrefix(left: number[], right: number[]): number {
  const length = Math.min(left.length, right.length);
  let index = 0;
  while (index < length && left[index] === right[index]) index += 1;
  return index;
}
