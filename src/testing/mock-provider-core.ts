/**
 * The engine shared by the mock model providers (mock-openai-server.ts, mock-anthropic-server.ts):
 * a node:http server that records every request, waits a set latency, enforces requests and
 * tokens per minute in sliding one-minute windows, estimates prompt tokens, simulates the
 * providers' prefix caches and answers from a script. Each provider file supplies its wire format.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode } from 'gpt-tokenizer';

/** A tool call the mock model makes; `arguments` given as a string is sent verbatim, even if not JSON. */
export interface MockToolCall {
  name: string;
  arguments?: Record<string, unknown> | string;
  /** Default: a generated id (call_mock_N, toolu_mock_N). */
  id?: string;
}

/**
 * A successful answer. `stopReason` is sent as given, translated between the providers' names
 * (stop/end_turn, tool_calls/tool_use, length/max_tokens); default: tool_calls when there are tool calls, else stop.
 */
export interface MockCompletion {
  text?: string;
  toolCalls?: MockToolCall[];
  stopReason?: string;
}

/** An HTTP error in the provider's error JSON (or `body` verbatim); `retryAfter` (seconds) sets the retry-after header. */
export interface MockError {
  status: number;
  message?: string;
  body?: unknown;
  retryAfter?: number;
}

/** A broken answer: a body or stream event that is not JSON, or a body or stream that ends halfway. */
export interface MockGarbage {
  garbage: 'invalid-json' | 'truncated-stream';
}

/** The provider's rejection of a prompt longer than the context window (a 400). */
export interface MockContextLengthError {
  contextLengthExceeded: true;
}

/** One scripted answer. */
export type MockResponse = MockCompletion | MockError | MockGarbage | MockContextLengthError;

/** Chooses the answer to a request; may be async. */
export type MockResponder = (request: RecordedRequest) => MockResponse | Promise<MockResponse>;

/**
 * A request as the mock received it: `path` without the query string, `headers` with lower-case names,
 * `body` parsed (raw text if not JSON), `inputTokens` estimated (completions only), `lastUserText` the text
 * of the last user message, `status` the answer's HTTP status once sent.
 */
export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
  inputTokens: number;
  lastUserText: string;
  status?: number;
}

/**
 * Counters since the start or the last reset: every HTTP request, those answered with a completion, 429s
 * sent (by the limiter or the script), and the completions' tokens (input includes cache reads and writes).
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

/** Options of startMockOpenAI and startMockAnthropic; every field is optional. */
export interface MockProviderOptions {
  /** A queue of answers (one per completion request, in order) or a function; when both run out: `{ text: 'ok' }`. */
  responses?: MockResponse[] | MockResponder;
  /** Milliseconds to wait before answering any request; default 0. */
  latencyMs?: number;
  /** Requests and input tokens per sliding minute; default unlimited. */
  rateLimits?: MockRateLimits;
  /** Prefix cache settings, or false to report no cache use; default min 1,024 tokens, 128-token blocks, 50 entries. */
  cache?: false | { minTokens?: number; blockSize?: number; capacity?: number };
  /** Prompts above this many estimated tokens get the context-length error; default unlimited. */
  contextWindow?: number;
  /** When set, requests with another key get a 401. */
  apiKey?: string;
  /** Model ids listed by GET /v1/models (OpenAI); default ['mock-model']. */
  models?: string[];
  /** Default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** The clock of the rate-limit windows, in ms; default Date.now. */
  now?: () => number;
}

/** A running mock provider. */
export interface MockProviderServer {
  /** http://host:port, without a trailing slash. */
  readonly url: string;
  readonly requests: RecordedRequest[];
  readonly stats: MockStats;
  /** Appends answers to the queue, or (given one function) replaces the responder used once the queue is empty. */
  respondWith(...responses: MockResponse[] | [MockResponder]): void;
  /** Clears requests, counters, queue, cache and rate-limit windows (keeps the options). */
  reset(): void;
  close(): Promise<void>;
}

/** A piece of a serialized prompt, in the provider's cache order; `breakpoint` ends a cacheable prefix. */
export type PromptSegment = { text: string; breakpoint?: boolean };

/** What a provider adapter reads from a completion request body. */
export interface ParsedPrompt {
  model: string;
  stream: boolean;
  segments: PromptSegment[];
  lastUserText: string;
}

/** Token counts of one completion; `inputTokens` includes cache reads and writes. */
export type MockUsage = {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheCreationTokens: number;
};

/** One server-sent event; `data` is already serialized. */
export type SseEvent = { event?: string; data: string };

/** The wire format of one provider (internal to src/testing). */
export interface ProviderAdapter<P extends ParsedPrompt> {
  completionPath: string;
  /** 'prefix': any shared prefix counts, in blocks (OpenAI); 'breakpoints': only cache_control prefixes (Anthropic). */
  cacheMode: 'prefix' | 'breakpoints';
  requestIdHeader: string;
  apiKeyOf(headers: IncomingHttpHeaders): string | undefined;
  /** Throws MockRequestError for a body the real API would reject. */
  parse(body: Record<string, unknown>): P;
  render(
    completion: MockCompletion,
    usage: MockUsage,
    prompt: P,
    sequence: number,
  ): { json: unknown } | SseEvent[];
  errorBody(error: { status: number; message?: string; type?: string }): unknown;
  contextLengthBody(tokens: number, limit: number | undefined): unknown;
  /** JSON for a GET route other than the completion path, or undefined for a 404. */
  get?(path: string, models: string[]): unknown;
}

/** A request the real API would reject with a 400. */
export class MockRequestError extends Error {
  override name = 'MockRequestError';
}

const defaultCompletion: MockCompletion = { text: 'ok' };
const encodeOptions = { disallowedSpecial: new Set<string>() };

/** Tokens of a text, as the mocks count them (gpt-tokenizer, special tokens read as text). */
export function countMockTokens(text: string): number {
  return encode(text, encodeOptions).length;
}

/** Starts a mock provider speaking `adapter`'s wire format. */
export async function startMockServer<P extends ParsedPrompt>(
  adapter: ProviderAdapter<P>,
  options: MockProviderOptions = {},
): Promise<MockProviderServer> {
  const now = options.now ?? Date.now;
  const cacheSettings = options.cache === false ? undefined : (options.cache ?? {});
  const minTokens = cacheSettings?.minTokens ?? 1024;
  const blockSize = cacheSettings?.blockSize ?? 128;
  const newCache = () => new PrefixCache(cacheSettings?.capacity ?? 50);
  const newLimiter = () => new SlidingWindowLimiter(options.rateLimits ?? {}, now);
  const state = {
    queue: [] as MockResponse[],
    responder: undefined as MockResponder | undefined,
    cache: newCache(),
    limiter: newLimiter(),
    sequence: 0,
  };
  const requests: RecordedRequest[] = [];
  const stats: MockStats = emptyStats();
  const respondWith = (...responses: MockResponse[] | [MockResponder]) => {
    const [first] = responses;
    if (typeof first === 'function') state.responder = first;
    else state.queue.push(...(responses as MockResponse[]));
  };
  if (options.responses !== undefined)
    respondWith(...(Array.isArray(options.responses) ? options.responses : [options.responses]));

  function cacheUsage(tokens: number[], breakpoints: number[]) {
    if (cacheSettings === undefined) return { read: 0, creation: 0 };
    if (adapter.cacheMode === 'prefix') {
      const shared = state.cache.sharedPrefix(tokens);
      if (tokens.length >= minTokens) state.cache.remember(tokens);
      return { read: shared >= minTokens ? Math.floor(shared / blockSize) * blockSize : 0, creation: 0 };
    }
    const last = Math.max(0, ...breakpoints);
    const read = state.cache.storedPrefix(tokens, last);
    for (const end of breakpoints) if (end >= minTokens) state.cache.remember(tokens.slice(0, end));
    return { read, creation: last >= minTokens && last > read ? last - read : 0 };
  }

  async function handle(request: IncomingMessage, response: ServerResponse, record: RecordedRequest) {
    if ((options.latencyMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      record.status = status;
      if (status === 429) stats.rateLimited += 1;
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      writeHead(response, status, { 'content-type': 'application/json', ...headers });
      response.end(text);
    };
    const fail = (status: number, message: string, extra: { type?: string; retryAfter?: number } = {}) =>
      send(
        status,
        adapter.errorBody({ status, message, ...(extra.type ? { type: extra.type } : {}) }),
        retryHeader(extra.retryAfter),
      );
    if (options.apiKey !== undefined && adapter.apiKeyOf(request.headers) !== options.apiKey) {
      return fail(401, 'invalid api key');
    }
    if (record.method === 'GET' && adapter.get !== undefined) {
      const answer = adapter.get(record.path, options.models ?? ['mock-model']);
      if (answer !== undefined) return send(200, answer);
    }
    if (record.method !== 'POST' || record.path !== adapter.completionPath) {
      return fail(404, `no route ${record.method} ${record.path}`);
    }
    if (!isObject(record.body)) return fail(400, 'the request body is not a JSON object');
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
    const rejection = state.limiter.admit(tokens.length);
    if (rejection !== undefined) {
      return fail(429, rejection.message, { type: rejection.limit, retryAfter: rejection.retryAfter });
    }
    if (options.contextWindow !== undefined && tokens.length > options.contextWindow) {
      return send(400, adapter.contextLengthBody(tokens.length, options.contextWindow));
    }
    const scripted = state.queue.shift() ?? state.responder;
    const answer = typeof scripted === 'function' ? await scripted(record) : (scripted ?? defaultCompletion);
    if ('status' in answer) {
      const headers = retryHeader(answer.retryAfter);
      if (answer.body !== undefined) return send(answer.status, answer.body, headers);
      return send(
        answer.status,
        adapter.errorBody({
          status: answer.status,
          ...(answer.message === undefined ? {} : { message: answer.message }),
        }),
        headers,
      );
    }
    if ('contextLengthExceeded' in answer) {
      return send(400, adapter.contextLengthBody(tokens.length, options.contextWindow));
    }
    const completion = 'garbage' in answer ? defaultCompletion : answer;
    const cache = cacheUsage(tokens, breakpoints);
    const usage: MockUsage = {
      inputTokens: tokens.length,
      outputTokens: Math.max(1, outputTokensOf(completion)),
      cacheReadTokens: cache.read,
      cacheCreationTokens: cache.creation,
    };
    stats.completions += 1;
    stats.inputTokens += usage.inputTokens;
    stats.outputTokens += usage.outputTokens;
    stats.cachedTokens += usage.cacheReadTokens;
    stats.cacheCreationTokens += usage.cacheCreationTokens;
    state.sequence += 1;
    record.status = 200;
    const rendered = adapter.render(completion, usage, prompt, state.sequence);
    const garbage = 'garbage' in answer ? answer.garbage : undefined;
    const requestId = { [adapter.requestIdHeader]: `req_mock_${state.sequence}` };
    if (Array.isArray(rendered)) writeEvents(response, mangleEvents(rendered, garbage), requestId);
    else writeJson(response, rendered.json, garbage, requestId);
  }

  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const record: RecordedRequest = {
        method: request.method ?? 'GET',
        path: new URL(request.url ?? '/', 'http://mock').pathname,
        headers: request.headers,
        body: parseBody(text),
        inputTokens: 0,
        lastUserText: '',
      };
      requests.push(record);
      stats.requests += 1;
      handle(request, response, record).catch((error: unknown) => {
        // A responder that throws is the test's bug: answer 500 with its message, so the test sees it.
        record.status = 500;
        writeHead(response, 500, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify(adapter.errorBody({ status: 500, message: `mock server: ${String(error)}` })),
        );
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
    respondWith,
    reset() {
      requests.length = 0;
      Object.assign(stats, emptyStats());
      state.queue.length = 0;
      state.cache = newCache();
      state.limiter = newLimiter();
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Cuts a text into pieces of at most `size` characters, as a stream would deliver it. */
export function fragmentsOf(text: string, size = 12): string[] {
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) pieces.push(text.slice(start, start + size));
  return pieces;
}

/** The text of a message content: a string, or the text parts and tool results of a block list. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: unknown) =>
      isObject(part) ? (typeof part.text === 'string' ? part.text : textOf(part.content)) : '',
    )
    .filter((text) => text !== '')
    .join('\n');
}

/** A tool call's arguments as JSON text (strings verbatim). */
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

function outputTokensOf(completion: MockCompletion): number {
  const calls = (completion.toolCalls ?? []).map((call) => call.name + argumentsText(call)).join('');
  return countMockTokens((completion.text ?? '') + calls);
}

function mangleEvents(events: SseEvent[], garbage: MockGarbage['garbage'] | undefined): SseEvent[] {
  if (garbage === 'truncated-stream') return events.slice(0, Math.max(1, Math.floor(events.length / 2)));
  if (garbage === 'invalid-json') return [...events.slice(0, 1), { ...events[0], data: '{"id": not json' }];
  return events;
}

function writeEvents(response: ServerResponse, events: SseEvent[], headers: Record<string, string>) {
  writeHead(response, 200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  for (const event of events) {
    response.write(`${event.event === undefined ? '' : `event: ${event.event}\n`}data: ${event.data}\n\n`);
  }
  response.end();
}

function writeJson(
  response: ServerResponse,
  json: unknown,
  garbage: string | undefined,
  headers: Record<string, string>,
) {
  const text = JSON.stringify(json);
  writeHead(response, 200, { 'content-type': 'application/json', ...headers });
  if (garbage === 'invalid-json') response.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
  else response.end(garbage === 'truncated-stream' ? text.slice(0, Math.floor(text.length / 2)) : text);
}

function writeHead(response: ServerResponse, status: number, headers: Record<string, string>) {
  if (!response.headersSent) response.writeHead(status, headers);
}

function retryHeader(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text; // kept raw: the handler answers 400, and the test can read what was sent
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

/** Requests and estimated input tokens allowed per sliding minute; an absent limit is unlimited. */
export interface MockRateLimits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

/** Why a request was refused and how many whole seconds until it would fit. */
export interface RateLimitRejection {
  limit: 'requests' | 'tokens';
  retryAfter: number;
  message: string;
}

const windowMs = 60_000;

/** Requests and tokens admitted in the last minute; refused requests do not count. */
export class SlidingWindowLimiter {
  private readonly admitted: { at: number; tokens: number }[] = [];

  constructor(
    private readonly limits: MockRateLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** Admits a request of `tokens` input tokens, or says why not and when to retry. */
  admit(tokens: number): RateLimitRejection | undefined {
    const now = this.now();
    while (this.admitted[0] !== undefined && this.admitted[0].at <= now - windowMs) this.admitted.shift();
    const { requestsPerMinute, tokensPerMinute } = this.limits;
    if (requestsPerMinute !== undefined && this.admitted.length >= requestsPerMinute) {
      const freedBy = this.admitted[this.admitted.length - requestsPerMinute];
      return this.reject('requests', requestsPerMinute, this.admitted.length, 1, freedBy, now);
    }
    const used = this.admitted.reduce((sum, entry) => sum + entry.tokens, 0);
    if (tokensPerMinute !== undefined && used + tokens > tokensPerMinute) {
      // The request fits once enough of the oldest entries leave the window (never, if it alone is too big).
      let excess = used + tokens - tokensPerMinute;
      let freedBy: { at: number } | undefined;
      for (const entry of tokens > tokensPerMinute ? [] : this.admitted) {
        excess -= entry.tokens;
        if (excess <= 0) {
          freedBy = entry;
          break;
        }
      }
      return this.reject('tokens', tokensPerMinute, used, tokens, freedBy, now);
    }
    this.admitted.push({ at: now, tokens });
    return undefined;
  }

  private reject(
    limit: 'requests' | 'tokens',
    max: number,
    used: number,
    requested: number,
    freedBy: { at: number } | undefined,
    now: number,
  ): RateLimitRejection {
    const waitMs = freedBy === undefined ? windowMs : freedBy.at + windowMs - now;
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    const message = `Rate limit reached for ${limit} per min: Limit ${max}, Used ${used}, Requested ${requested}. Please try again in ${retryAfter}s.`;
    return { limit, retryAfter, message };
  }
}

/** The token prefixes of recent requests, newest last, at most `capacity` of them. */
export class PrefixCache {
  private readonly entries: number[][] = [];

  constructor(private readonly capacity = 50) {}

  /** The longest prefix `tokens` shares with any entry (OpenAI: caching is automatic). */
  sharedPrefix(tokens: number[]): number {
    return Math.max(0, ...this.entries.map((entry) => commonPrefix(entry, tokens)));
  }

  /** The longest entry that is a whole prefix of `tokens`, up to `limit` tokens (Anthropic: breakpoints). */
  storedPrefix(tokens: number[], limit: number): number {
    const whole = this.entries.filter(
      (entry) => entry.length <= limit && commonPrefix(entry, tokens) === entry.length,
    );
    return Math.max(0, ...whole.map((entry) => entry.length));
  }

  /** Stores a prefix (an equal entry is moved to the newest place). */
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
