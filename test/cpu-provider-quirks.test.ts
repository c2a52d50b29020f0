/**
 * The quirks of real providers, on the OpenAI and the Anthropic wire formats, through the
 * drivers and the official SDKs against the mock servers over HTTP: no usage (counted and
 * marked estimated), how long to wait (retry-after-ms, retry-after in seconds and as a date,
 * x-ratelimit-reset-*), the limits announced in headers, context-length rejections in every
 * provider's words, tool-call deltas without index, and an HTML error page.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicDriver } from '../src/cpu/anthropic-driver.js';
import type { ModelDriver, ModelRequest, RetryGate } from '../src/cpu/model.js';
import { OpenAIDriver } from '../src/cpu/openai-driver.js';
import { isContextLengthError } from '../src/cpu/provider-error.js';
import { AosError } from '../src/errors.js';
import type { MockOptions, MockReply, MockServer } from '../src/testing/index.js';
import { startMockAnthropic } from '../src/testing/mock-anthropic-server.js';
import { startMockOpenAI } from '../src/testing/mock-openai-server.js';

interface Provider {
  name: 'openai' | 'anthropic';
  start(options: MockOptions): Promise<MockServer>;
  driver(server: MockServer, stream: boolean, maxRetries?: number): ModelDriver;
}

const retries = (maxRetries: number) => ({ maxRetries, baseDelayMs: 1, maxDelayMs: 120_000 });

const providers: Provider[] = [
  {
    name: 'openai',
    start: startMockOpenAI,
    driver: (server, stream, maxRetries = 2) =>
      new OpenAIDriver({ baseUrl: `${server.url}/v1`, apiKey: 'test', stream, retry: retries(maxRetries) }),
  },
  {
    name: 'anthropic',
    start: startMockAnthropic,
    driver: (server, stream, maxRetries = 2) =>
      new AnthropicDriver({ baseUrl: server.url, apiKey: 'test', stream, retry: retries(maxRetries) }),
  },
];

const request: ModelRequest = {
  model: 'mock-model',
  system: 'You are a test.',
  messages: [{ role: 'user', content: 'define aardvark' }],
  tools: [
    {
      name: 'lookup',
      description: 'Looks a word up.',
      inputSchema: { type: 'object', properties: { word: { type: 'string' } } },
    },
  ],
};

const signal = new AbortController().signal;

/** A gate that records the wait the driver planned before each retry, and waits none of it. */
function recordingGate(): { gate: RetryGate; planned: number[] } {
  const planned: number[] = [];
  return {
    planned,
    gate: async (_error, delay) => {
      planned.push(delay);
      return 0;
    },
  };
}

async function failureOf(promise: Promise<unknown>): Promise<AosError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(AosError);
  return error as AosError;
}

describe.each(providers)('$name wire format', (provider) => {
  let server: MockServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const stream of [true, false]) {
    const mode = stream ? 'streaming' : 'not streaming';

    it(`counts the tokens itself, marked estimated, when the server reports no usage (${mode})`, async () => {
      server = await provider.start({ replies: [{ text: 'An aardvark is a mammal.', usage: false }] });
      const response = await provider.driver(server, stream).complete(request, { signal });
      expect(response.content).toBe('An aardvark is a mammal.');
      expect(response.usage.estimated).toBe(true);
      expect(response.usage.inputTokens).toBeGreaterThan(10);
      expect(response.usage.outputTokens).toBeGreaterThan(3);
    });

    it(`reports the provider's usage unmarked when it sends one (${mode})`, async () => {
      server = await provider.start({ replies: [{ text: 'An aardvark is a mammal.' }] });
      const response = await provider.driver(server, stream).complete(request, { signal });
      expect(response.usage.estimated).toBeUndefined();
      expect(response.usage.inputTokens).toBe(server.requests[0]!.inputTokens);
    });
  }

  const waits: [string, Record<string, string>, number][] = [
    ['retry-after-ms', { 'retry-after-ms': '2500', 'retry-after': '3' }, 2500],
    ['retry-after in seconds', { 'retry-after': '7' }, 7000],
    [
      'x-ratelimit-reset-requests',
      { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1m5.5s' },
      65_500,
    ],
    [
      'the later of the used-up resets',
      {
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '1s',
        'x-ratelimit-remaining-tokens': '0',
        'x-ratelimit-reset-tokens': '20s',
      },
      20_000,
    ],
  ];
  for (const [name, headers, expected] of waits) {
    it(`waits as long as ${name} asks before retrying a 429`, async () => {
      server = await provider.start({
        replies: [{ error: { status: 429, headers } }, { text: 'fine now' }],
      });
      const { gate, planned } = recordingGate();
      const response = await provider.driver(server, false).complete(request, { signal, gate });
      expect(response.content).toBe('fine now');
      expect(planned).toEqual([expected]);
    });
  }

  it('waits until the HTTP date of retry-after', async () => {
    const at = new Date(Date.now() + 50_000).toUTCString();
    server = await provider.start({
      replies: [{ error: { status: 503, headers: { 'retry-after': at } } }, { text: 'fine now' }],
    });
    const { gate, planned } = recordingGate();
    await provider.driver(server, false).complete(request, { signal, gate });
    expect(planned).toHaveLength(1);
    // An HTTP date has whole seconds: the wait is within a second (and the test's run time) of 50 s.
    expect(planned[0]).toBeGreaterThan(40_000);
    expect(planned[0]).toBeLessThanOrEqual(50_000);
  });

  it('stops retrying, saying how long to wait, when asked to wait longer than it retries', async () => {
    server = await provider.start({
      replies: [{ error: { status: 429, headers: { 'retry-after-ms': '90000' } } }],
    });
    const driver = new (provider.name === 'openai' ? OpenAIDriver : AnthropicDriver)({
      baseUrl: provider.name === 'openai' ? `${server.url}/v1` : server.url,
      apiKey: 'test',
      retry: { maxRetries: 4, baseDelayMs: 1, maxDelayMs: 30_000 },
    });
    const error = await failureOf(driver.complete(request, { signal }));
    expect(error.code).toBe('limit_exceeded');
    expect(error.details?.retryAfterMs).toBe(90_000);
    expect(server.requests).toHaveLength(1);
  });

  it('hands on the per-minute limits the provider announces', async () => {
    const headers =
      provider.name === 'openai'
        ? { 'x-ratelimit-limit-requests': '500', 'x-ratelimit-limit-tokens': '30000' }
        : { 'anthropic-ratelimit-requests-limit': '50', 'anthropic-ratelimit-input-tokens-limit': '40000' };
    server = await provider.start({ replies: [{ text: 'ok', headers }] });
    for (const stream of [true, false]) {
      const response = await provider.driver(server, stream).complete(request, { signal });
      expect(response.rateLimits).toEqual(
        provider.name === 'openai'
          ? { requestsPerMinute: 500, tokensPerMinute: 30_000 }
          : { requestsPerMinute: 50, tokensPerMinute: 40_000 },
      );
    }
  });

  it('keeps an HTML error page out of the message, truncated in the details', async () => {
    const page = `<!DOCTYPE html><html><head><title>503 Service Temporarily Unavailable</title></head><body>${'<p>nginx</p>'.repeat(400)}</body></html>`;
    server = await provider.start({
      replies: [{ error: { status: 503, body: page, contentType: 'text/html' } }],
    });
    const error = await failureOf(provider.driver(server, true, 0).complete(request, { signal }));
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain('503');
    expect(error.message).toContain('an HTML page ("503 Service Temporarily Unavailable")');
    expect(error.message).not.toContain('<');
    expect(error.message.length).toBeLessThan(200);
    const body = error.details?.body as string;
    expect(body.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(body.length).toBeLessThanOrEqual(2000);
    expect(page.length).toBeGreaterThan(3900);
  });

  it('aborts the attempt in flight and the wait between retries when its signal aborts', async () => {
    server = await provider.start({ replies: [{ text: 'late' }], latencyMs: 600_000 });
    const inFlight = new AbortController();
    const call = provider.driver(server, true).complete(request, { signal: inFlight.signal });
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    inFlight.abort(new Error('deadline'));
    await expect(call).rejects.toThrow('deadline');
    const failing = await provider.start({
      replies: [{ error: { status: 503, headers: { 'retry-after': '50' } } }],
    });
    try {
      const waiting = new AbortController();
      const retried = provider.driver(failing, false).complete(request, {
        signal: waiting.signal,
        gate: async (_error, delay) => {
          setTimeout(() => waiting.abort(new Error('deadline')), 10);
          return delay;
        },
      });
      // The provider asked for 50 s: only the abort ends the wait before the test's timeout.
      await expect(retried).rejects.toThrow('deadline');
      expect(failing.requests).toHaveLength(1);
    } finally {
      await failing.close();
    }
  });

  it('recognises its own context-length rejection, so the memory manager can page out', async () => {
    server = await provider.start({ replies: [{ contextTooLong: true }] });
    const error = await failureOf(provider.driver(server, true, 0).complete(request, { signal }));
    expect(isContextLengthError(error)).toBe(true);
  });
});

/** The context-length rejections of every provider, as their servers send them. */
const contextLengthReplies: [string, MockReply][] = [
  [
    'OpenAI, newer wording, by code',
    {
      error: {
        status: 400,
        body: {
          error: {
            message:
              'Input tokens exceed the configured limit of 272000 tokens. Your messages resulted in 272108 tokens.',
            type: 'invalid_request_error',
            param: 'messages',
            code: 'context_length_exceeded',
          },
        },
      },
    },
  ],
  [
    "vLLM's older body without a nested error",
    {
      error: {
        status: 400,
        body: {
          object: 'error',
          message:
            "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
          type: 'BadRequestError',
          param: null,
          code: 400,
        },
      },
    },
  ],
  [
    'llama.cpp, by type',
    {
      error: {
        status: 400,
        body: {
          error: {
            code: 400,
            message: 'the request exceeds the available context size, try increasing it',
            type: 'exceed_context_size_error',
            n_prompt_tokens: 5000,
            n_ctx: 4096,
          },
        },
      },
    },
  ],
  [
    'Gemini (a list of errors)',
    {
      error: {
        status: 400,
        body: [
          {
            error: {
              code: 400,
              message:
                'The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).',
              status: 'INVALID_ARGUMENT',
            },
          },
        ],
      },
    },
  ],
  [
    'OpenRouter',
    {
      error: {
        status: 400,
        body: {
          error: {
            message:
              'This endpoint\'s maximum context length is 163840 tokens. However, you requested about 200000 tokens (200000 of text input). Please reduce the length of either one, or use the "middle-out" transform to compress your prompt automatically.',
            code: 400,
          },
        },
      },
    },
  ],
  ['Ollama', { error: { status: 400, body: { error: 'the input length exceeds the context length' } } }],
  [
    'LM Studio',
    {
      error: {
        status: 400,
        body: {
          error:
            'Trying to keep the first 5000 tokens when context the overflows. However, the model is loaded with context length of only 4096 tokens, which is not enough. Try to load the model with a larger context length, or provide a shorter input',
        },
      },
    },
  ],
  [
    'Anthropic prompt too long',
    {
      error: {
        status: 400,
        body: {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            message: 'prompt is too long: 208310 tokens > 200000 maximum',
          },
        },
      },
    },
  ],
  [
    'Anthropic input and max_tokens over the limit',
    {
      error: {
        status: 400,
        body: {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            message:
              'input length and `max_tokens` exceed context limit: 198000 + 8192 > 200000, decrease input length or `max_tokens` and try again',
          },
        },
      },
    },
  ],
];

describe.each(providers)(
  'context-length rejections of every provider through the $name driver',
  (provider) => {
    let server: MockServer | undefined;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    for (const [name, reply] of contextLengthReplies) {
      it(name, async () => {
        server = await provider.start({ replies: [reply] });
        const error = await failureOf(provider.driver(server, true, 0).complete(request, { signal }));
        expect(isContextLengthError(error)).toBe(true);
        expect(error.message).not.toContain('no body');
        expect(server.requests).toHaveLength(1);
      });
    }

    it('does not take another 400 for a context-length rejection, and keeps its words', async () => {
      server = await provider.start({
        replies: [
          {
            error: {
              status: 400,
              body: { object: 'error', message: 'temperature must be at most 2', code: 400 },
            },
          },
        ],
      });
      const error = await failureOf(provider.driver(server, true, 0).complete(request, { signal }));
      expect(isContextLengthError(error)).toBe(false);
      expect(error.code).toBe('invalid_input');
      expect(error.message).toContain('temperature must be at most 2');
    });
  },
);

describe('tool-call deltas without an index (Gemini through the openai driver)', () => {
  let server: MockServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('keeps two whole calls two, keyed by id', async () => {
    server = await startMockOpenAI({
      replies: [
        {
          toolCallIndex: false,
          toolCalls: [
            { id: 'call_a', name: 'todo', arguments: { item: 'milk' } },
            { id: 'call_b', name: 'remember', arguments: { fact: 'aardvarks dig' } },
          ],
        },
      ],
    });
    const driver = new OpenAIDriver({ baseUrl: `${server.url}/v1`, apiKey: 'test' });
    const response = await driver.complete(request, { signal });
    expect(response.toolCalls).toEqual([
      { id: 'call_a', name: 'todo', arguments: { item: 'milk' } },
      { id: 'call_b', name: 'remember', arguments: { fact: 'aardvarks dig' } },
    ]);
  });

  it('keeps two whole calls two when they have neither index nor id', async () => {
    server = await startMockOpenAI({
      replies: [
        {
          toolCallIndex: false,
          toolCalls: [
            { id: '', name: 'todo', arguments: { item: 'milk' } },
            { id: '', name: 'remember', arguments: { fact: 'aardvarks dig' } },
          ],
        },
      ],
    });
    const driver = new OpenAIDriver({ baseUrl: `${server.url}/v1`, apiKey: 'test' });
    const response = await driver.complete(request, { signal });
    expect(response.toolCalls.map((call) => [call.id, call.name, call.arguments])).toEqual([
      ['call_0', 'todo', { item: 'milk' }],
      ['call_1', 'remember', { fact: 'aardvarks dig' }],
    ]);
  });
});
