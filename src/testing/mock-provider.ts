/**
 * What the mock model servers share: scripted replies, latency, rate limits (requests
 * and tokens per minute, in sliding one-minute windows, answered with 429 and
 * retry-after), a prefix cache that reports cached tokens the way providers do, and a
 * record of every request. Exported for users' own tests (see docs/testing.md).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer. */
export interface MockReply {
  text?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  /** Answer with an HTTP error instead. */
  error?: { status: number; message?: string; retryAfterSeconds?: number };
  /** Answer 200 with something that is not the provider's format (a truncated stream when streaming). */
  garbage?: boolean;
  /** Answer that the request is longer than the context window. */
  contextTooLong?: boolean;
}

/** A request as the mock received it. */
export interface RecordedRequest {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
  at: number;
}

export interface MockOptions {
  /** Replies in order (the last one repeats), or a function of the request. Default: a text "ok". */
  replies?: MockReply[] | ((request: RecordedRequest, index: number) => MockReply);
  latencyMs?: number;
  requestsPerMinute?: number;
  tokensPerMinute?: number;
}

export interface MockStats {
  requests: number;
  rateLimited: number;
  inputTokens: number;
  cachedTokens: number;
}

/** A running mock server. */
export interface MockServer {
  url: string;
  requests: RecordedRequest[];
  stats: MockStats;
  /** Replaces the replies. */
  respondWith(replies: MockOptions['replies']): void;
  close(): Promise<void>;
}

/** What a provider module supplies: how to measure a request, and how to answer it. */
export interface ProviderFormat {
  path: string;
  /** The request as text segments in cache order, and the offsets (in characters) of its cache breakpoints. */
  serialize(body: Record<string, unknown>): { text: string; breakpoints: number[] | 'any' };
  answer(response: ServerResponse, reply: MockReply, usage: MockUsage, body: Record<string, unknown>): void;
  error(response: ServerResponse, status: number, message: string, headers?: Record<string, string>): void;
  contextTooLong(response: ServerResponse, tokens: number): void;
}

/** Token counts of one request, as the provider reports them. */
export interface MockUsage {
  inputTokens: number;
  cachedTokens: number;
  cacheCreationTokens: number;
  outputTokens: number;
}

/** The mock's tokenizer: four characters a token. */
export function mockTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

const windowMs = 60_000;
const cacheBlock = 128;
const cacheMinimum = 1024;

/** Starts a mock server for a provider format on a free local port. */
export async function startMockProvider(
  format: ProviderFormat,
  options: MockOptions = {},
): Promise<MockServer> {
  let replies = options.replies ?? [{ text: 'ok' }];
  const requests: RecordedRequest[] = [];
  const stats: MockStats = { requests: 0, rateLimited: 0, inputTokens: 0, cachedTokens: 0 };
  const window: { at: number; tokens: number }[] = [];
  const recent: string[] = [];
  let answered = 0;

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if (request.method !== 'POST' || !(request.url ?? '').endsWith(format.path)) {
      format.error(response, 404, `no route ${request.method} ${request.url}`);
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      format.error(response, 400, 'the body is not JSON');
      return;
    }
    const recorded: RecordedRequest = {
      path: request.url ?? '',
      headers: request.headers,
      body,
      at: Date.now(),
    };
    requests.push(recorded);
    stats.requests += 1;
    const { text, breakpoints } = format.serialize(body);
    const tokens = mockTokens(text);
    const now = Date.now();
    while (window.length > 0 && window[0]!.at <= now - windowMs) window.shift();
    const usedTokens = window.reduce((sum, entry) => sum + entry.tokens, 0);
    const overRequests =
      options.requestsPerMinute !== undefined && window.length >= options.requestsPerMinute;
    const overTokens = options.tokensPerMinute !== undefined && usedTokens + tokens > options.tokensPerMinute;
    if (overRequests || overTokens) {
      stats.rateLimited += 1;
      const retryAfter = Math.max(1, Math.ceil(((window[0]?.at ?? now) + windowMs - now) / 1000));
      format.error(response, 429, `rate limit reached (${overRequests ? 'requests' : 'tokens'} per minute)`, {
        'retry-after': String(retryAfter),
      });
      return;
    }
    window.push({ at: now, tokens });
    const reply =
      typeof replies === 'function'
        ? replies(recorded, answered)
        : (replies[Math.min(answered, replies.length - 1)] ?? {});
    answered += 1;
    if (options.latencyMs) await new Promise((resolve) => setTimeout(resolve, options.latencyMs));
    if (reply.error !== undefined) {
      const headers =
        reply.error.retryAfterSeconds === undefined
          ? undefined
          : { 'retry-after': String(reply.error.retryAfterSeconds) };
      format.error(
        response,
        reply.error.status,
        reply.error.message ?? `scripted error ${reply.error.status}`,
        headers,
      );
      return;
    }
    if (reply.contextTooLong) {
      format.contextTooLong(response, tokens);
      return;
    }
    const cached = cachedPrefix(text, breakpoints, recent);
    recent.push(text);
    if (recent.length > 50) recent.shift();
    stats.inputTokens += tokens;
    stats.cachedTokens += cached.read;
    const output = mockTokens((reply.text ?? '') + JSON.stringify(reply.toolCalls ?? []));
    format.answer(
      response,
      reply,
      {
        inputTokens: tokens,
        cachedTokens: cached.read,
        cacheCreationTokens: cached.created,
        outputTokens: output,
      },
      body,
    );
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) format.error(response, 500, String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stats,
    respondWith(next) {
      replies = next ?? [{ text: 'ok' }];
      answered = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Cached tokens: the longest prefix shared with a recent request, in 128-token blocks,
 * nothing under 1,024 tokens. With breakpoints (Anthropic), only a prefix that ends at a
 * breakpoint is read from the cache, and the part up to the last breakpoint is written.
 */
function cachedPrefix(
  text: string,
  breakpoints: number[] | 'any',
  recent: string[],
): { read: number; created: number } {
  let shared = 0;
  for (const previous of recent) {
    const limit = Math.min(previous.length, text.length);
    let index = 0;
    while (index < limit && previous.charCodeAt(index) === text.charCodeAt(index)) index++;
    shared = Math.max(shared, index);
  }
  const blocks = (chars: number) => {
    const tokens = Math.floor(chars / 4);
    return tokens < cacheMinimum ? 0 : Math.floor(tokens / cacheBlock) * cacheBlock;
  };
  if (breakpoints === 'any') return { read: blocks(shared), created: 0 };
  const readAt = Math.max(0, ...breakpoints.filter((offset) => offset <= shared));
  const last = Math.max(0, ...breakpoints);
  const read = blocks(readAt);
  const written = last > readAt ? Math.max(0, Math.floor(last / 4) - read) : 0;
  return { read, created: Math.floor(last / 4) >= cacheMinimum ? written : 0 };
}

/** Writes a JSON response. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}
