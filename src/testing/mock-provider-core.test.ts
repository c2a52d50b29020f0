/**
 * The shared engine of the mock providers: the sliding-window limiter and the prefix cache as units
 * (with a fake clock), then the provider-neutral behaviour of a running server over plain HTTP:
 * scripted replies, recording, counters, rate limits, latency, keys and routes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMockOpenAI } from './mock-openai-server.js';
import {
  countMockTokens,
  fragmentsOf,
  type MockServer,
  PrefixCache,
  SlidingWindowLimiter,
  textOf,
} from './mock-provider-core.js';

describe('SlidingWindowLimiter', () => {
  it('admits requestsPerMinute requests in any minute and says when the oldest leaves the window', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter({ requestsPerMinute: 2 }, () => now);
    expect(limiter.admit(10)).toBeUndefined();
    now = 20_000;
    expect(limiter.admit(10)).toBeUndefined();
    now = 30_000;
    expect(limiter.admit(10)).toMatchObject({ limit: 'requests', retryAfter: 30 });
    now = 59_999;
    expect(limiter.admit(10)).toMatchObject({ limit: 'requests', retryAfter: 1 });
    now = 60_000; // the first request has left the window; refused requests never counted
    expect(limiter.admit(10)).toBeUndefined();
    expect(limiter.admit(10)).toMatchObject({ limit: 'requests', retryAfter: 20 });
  });

  it('admits tokensPerMinute input tokens and waits until enough old ones leave', () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter({ tokensPerMinute: 100 }, () => now);
    expect(limiter.admit(60)).toBeUndefined();
    now = 10_000;
    expect(limiter.admit(30)).toBeUndefined();
    now = 15_000;
    const refusal = limiter.admit(50);
    expect(refusal).toMatchObject({ limit: 'tokens', retryAfter: 45 });
    expect(refusal?.message).toContain('Limit 100, Used 90, Requested 50');
    expect(limiter.admit(10)).toBeUndefined(); // exactly the limit fits
    now = 60_000;
    expect(limiter.admit(50)).toBeUndefined();
  });

  it('makes a request bigger than the whole limit wait a full window', () => {
    const limiter = new SlidingWindowLimiter({ tokensPerMinute: 100 }, () => 0);
    expect(limiter.admit(101)).toMatchObject({ limit: 'tokens', retryAfter: 60 });
  });
});

describe('PrefixCache', () => {
  it('finds the longest prefix shared with any entry', () => {
    const cache = new PrefixCache();
    cache.remember([1, 2, 3, 4]);
    cache.remember([1, 2, 9]);
    expect(cache.sharedPrefix([1, 2, 3, 7])).toBe(3);
    expect(cache.sharedPrefix([5])).toBe(0);
  });

  it('reads a stored prefix only whole, and only up to a limit', () => {
    const cache = new PrefixCache();
    cache.remember([1, 2]);
    cache.remember([1, 2, 3, 4]);
    expect(cache.storedPrefix([1, 2, 3, 4, 5], 10)).toBe(4);
    expect(cache.storedPrefix([1, 2, 3, 4, 5], 3)).toBe(2);
    expect(cache.storedPrefix([1, 2, 3, 9], 10)).toBe(2);
    expect(cache.storedPrefix([1, 9], 10)).toBe(0);
  });

  it('forgets the oldest entries beyond its capacity, and keeps one copy of equal entries', () => {
    const cache = new PrefixCache(2);
    cache.remember([1]);
    cache.remember([2]);
    cache.remember([1]); // moves [1] to the newest place
    cache.remember([3]);
    expect(cache.sharedPrefix([2])).toBe(0);
    expect(cache.sharedPrefix([1])).toBe(1);
    expect(cache.sharedPrefix([3])).toBe(1);
  });
});

describe('helpers', () => {
  it('counts special tokens as text instead of throwing', () => {
    expect(countMockTokens('a <|endoftext|> b')).toBeGreaterThan(3);
  });

  it('reads text parts and tool results, and cuts text into stream fragments', () => {
    expect(textOf('plain')).toBe('plain');
    const blocks = [
      { type: 'text', text: 'one' },
      { type: 'tool_result', content: [{ type: 'text', text: 'two' }] },
    ];
    expect(textOf(blocks)).toBe('one\ntwo');
    expect(fragmentsOf('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(fragmentsOf('')).toEqual([]);
  });
});

describe('a running mock server', () => {
  let server: MockServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server!.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer test', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const ask = (content: string) => post({ model: 'm', messages: [{ role: 'user', content }] });
  const textOfAnswer = async (response: Response) =>
    ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;

  it('answers replies in order, repeats the last, and restarts on respondWith', async () => {
    server = await startMockOpenAI({ replies: [{ text: 'one' }, { text: 'two' }] });
    const answers = [];
    for (let index = 0; index < 3; index++) answers.push(await textOfAnswer(await ask('q')));
    expect(answers).toEqual(['one', 'two', 'two']);
    server.respondWith((request, index) => ({ text: `${index}:${request.lastUserText}` }));
    expect(await textOfAnswer(await ask('hello'))).toBe('0:hello');
    expect(await textOfAnswer(await ask('again'))).toBe('1:again');
    server.respondWith(undefined);
    expect(await textOfAnswer(await ask('q'))).toBe('ok');
  });

  it('records every request and counts them', async () => {
    server = await startMockOpenAI();
    await ask('what is up?');
    await post('not json');
    await fetch(`${server.url}/v1/nothing`);
    expect(server.requests.map((request) => [request.method, request.path, request.status])).toEqual([
      ['POST', '/v1/chat/completions', 200],
      ['POST', '/v1/chat/completions', 400],
      ['GET', '/v1/nothing', 404],
    ]);
    const [first, second] = server.requests;
    expect(first!.headers.authorization).toBe('Bearer test');
    expect(first!.body).toMatchObject({ model: 'm' });
    expect(first!.lastUserText).toBe('what is up?');
    expect(first!.inputTokens).toBeGreaterThan(0);
    expect(second!.rawBody).toBe('not json');
    expect(server.stats).toMatchObject({ requests: 3, completions: 1, inputTokens: first!.inputTokens });
    server.reset();
    expect(server.requests).toEqual([]);
    expect(server.stats.requests).toBe(0);
  });

  it('answers 429 with retry-after over a rate limit, without using up a reply', async () => {
    let now = 1_000_000;
    server = await startMockOpenAI({
      requestsPerMinute: 1,
      now: () => now,
      replies: [{ text: 'first' }, { text: 'second' }],
    });
    expect(await textOfAnswer(await ask('q'))).toBe('first');
    now += 15_000;
    const refused = await ask('q');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('45');
    expect(server.stats.rateLimited).toBe(1);
    now += 45_000;
    expect(await textOfAnswer(await ask('q'))).toBe('second');
  });

  it('counts scripted 429s too, with their retry-after', async () => {
    server = await startMockOpenAI({ replies: [{ error: { status: 429, retryAfterSeconds: 7 } }] });
    const response = await ask('q');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(server.stats.rateLimited).toBe(1);
    expect(server.stats.completions).toBe(0);
  });

  it('refuses prompts over the context window', async () => {
    server = await startMockOpenAI({ contextWindow: 20 });
    expect((await ask('short')).status).toBe(200);
    const response = await ask('long '.repeat(50));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'context_length_exceeded' } });
  });

  it('waits latencyMs before answering, so a client with a shorter timeout gives up', async () => {
    server = await startMockOpenAI({ latencyMs: 10_000 });
    const error = await fetch(`${server.url}/v1/models`, { signal: AbortSignal.timeout(100) }).catch(
      (caught: unknown) => caught,
    );
    expect((error as Error).name).toBe('TimeoutError');
    expect(server.requests).toHaveLength(1);
  });

  it('refuses another API key when one is set, and turns a throwing responder into a 500', async () => {
    server = await startMockOpenAI({
      apiKey: 'right',
      replies: () => {
        throw new Error('bad script');
      },
    });
    expect((await ask('q')).status).toBe(401);
    const response = await post(
      { model: 'm', messages: [{ role: 'user', content: 'q' }] },
      { authorization: 'Bearer right' },
    );
    expect(response.status).toBe(500);
    expect(JSON.stringify(await response.json())).toContain('bad script');
  });
});
