/**
 * The driver contract suite: the same expectations for the openai: and anthropic:
 * drivers, through the official SDKs, against the mock servers over HTTP, streaming
 * and not: text, tool calls, usage and cached tokens, retries on 429/5xx/overload and
 * garbage, context-length rejections, and missing keys or servers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { AnthropicDriver } from '../../src/cpu/anthropic-driver.js';
import type { ModelDriver, ModelRequest } from '../../src/cpu/model.js';
import { OpenAIDriver, toolCallOf } from '../../src/cpu/openai-driver.js';
import { isContextLengthError } from '../../src/cpu/provider-error.js';
import { AosError } from '../../src/errors.js';
import type { MockOptions, MockServer } from '../../src/testing/index.js';
import { startMockAnthropic } from '../../src/testing/mock-anthropic-server.js';
import { startMockOpenAI } from '../../src/testing/mock-openai-server.js';

interface Provider {
  name: string;
  start(options: MockOptions): Promise<MockServer>;
  driver(server: MockServer, stream: boolean): ModelDriver;
  overloadStatus: number;
}

const fastRetries = { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 2000 };

const providers: Provider[] = [
  {
    name: 'openai',
    start: startMockOpenAI,
    driver: (server, stream) =>
      new OpenAIDriver({ baseUrl: `${server.url}/v1`, apiKey: 'test', stream, retry: fastRetries }),
    overloadStatus: 503,
  },
  {
    name: 'anthropic',
    start: startMockAnthropic,
    driver: (server, stream) =>
      new AnthropicDriver({ baseUrl: server.url, apiKey: 'test', stream, retry: fastRetries }),
    overloadStatus: 529,
  },
];

const tools = [
  {
    name: 'lookup',
    description: 'Looks a word up.',
    inputSchema: { type: 'object', properties: { word: { type: 'string' } }, required: ['word'] },
  },
];

function request(extra: Partial<ModelRequest> = {}): ModelRequest {
  return {
    model: 'mock-model',
    system: 'You are a test.',
    messages: [{ role: 'user', content: 'define aardvark' }],
    tools,
    ...extra,
  };
}

const signal = new AbortController().signal;

describe.each(providers)('the $name driver against its mock', (provider) => {
  let server: MockServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  for (const stream of [true, false]) {
    const mode = stream ? 'streaming' : 'not streaming';

    it(`returns text and usage (${mode})`, async () => {
      server = await provider.start({ replies: [{ text: 'An aardvark is a mammal.' }] });
      const response = await provider.driver(server, stream).complete(request(), { signal });
      expect(response.content).toBe('An aardvark is a mammal.');
      expect(response.toolCalls).toEqual([]);
      expect(response.usage.inputTokens).toBeGreaterThan(0);
      expect(response.usage.outputTokens).toBeGreaterThan(0);
      expect(server.requests).toHaveLength(1);
    });

    it(`returns tool calls with parsed arguments, and sends the transcript back (${mode})`, async () => {
      server = await provider.start({
        replies: [
          {
            text: 'Let me look.',
            toolCalls: [{ name: 'lookup', arguments: { word: 'aardvark', depth: 2 } }],
          },
        ],
      });
      const driver = provider.driver(server, stream);
      const response = await driver.complete(request(), { signal });
      expect(response.toolCalls).toHaveLength(1);
      expect(response.toolCalls[0]).toMatchObject({
        name: 'lookup',
        arguments: { word: 'aardvark', depth: 2 },
      });
      const id = response.toolCalls[0]!.id;
      expect(id).toBeTruthy();
      server.respondWith([{ text: 'done' }]);
      await driver.complete(
        request({
          messages: [
            { role: 'user', content: 'define aardvark' },
            { role: 'assistant', content: 'Let me look.', toolCalls: response.toolCalls },
            { role: 'tool', toolCallId: id, name: 'lookup', content: 'a mammal' },
            { role: 'notice', content: '[aos] a notice' },
          ],
        }),
        { signal },
      );
      const sent = JSON.stringify(server.requests.at(-1)!.body);
      expect(sent).toContain(id);
      expect(sent).toContain('a mammal');
      expect(sent).toContain('[aos] a notice');
    });
  }

  it('reports cached tokens for a long repeated prefix', async () => {
    server = await provider.start({ replies: [{ text: 'ok' }] });
    const driver = provider.driver(server, true);
    const long = request({ system: 'Rules. '.repeat(1500) });
    const first = await driver.complete(long, { signal });
    const second = await driver.complete(
      {
        ...long,
        messages: [
          ...long.messages,
          { role: 'assistant', content: 'ok' },
          { role: 'user', content: 'again' },
        ],
      },
      { signal },
    );
    expect(first.usage.cachedInputTokens).toBe(0);
    expect(second.usage.cachedInputTokens).toBeGreaterThanOrEqual(1024);
    expect(second.usage.cachedInputTokens! % 128).toBe(0);
    expect(second.usage.cachedInputTokens).toBeLessThanOrEqual(second.usage.inputTokens);
  });

  it('retries a 429 after its retry-after, and a 5xx or overload', async () => {
    server = await provider.start({
      replies: [
        { error: { status: 429, retryAfterSeconds: 1 } },
        { error: { status: provider.overloadStatus } },
        { text: 'finally' },
      ],
    });
    const started = Date.now();
    const response = await provider.driver(server, true).complete(request(), { signal });
    expect(response.content).toBe('finally');
    expect(server.requests).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('retries garbage, then fails with the provider named in the error', async () => {
    for (const stream of [true, false]) {
      server = await provider.start({ replies: [{ garbage: true }] });
      const error = await provider
        .driver(server, stream)
        .complete(request(), { signal })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AosError);
      expect((error as AosError).code).toBe('unavailable');
      expect((error as AosError).message).toContain(provider.name);
      expect(server.requests).toHaveLength(3);
      await server.close();
    }
    server = undefined;
  });

  it('reports a context-length rejection so the memory manager can act', async () => {
    server = await provider.start({ replies: [{ contextTooLong: true }] });
    const error = (await provider
      .driver(server, true)
      .complete(request(), { signal })
      .catch((caught: unknown) => caught)) as AosError;
    expect(error.code).toBe('invalid_input');
    expect(isContextLengthError(error)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('is unavailable, naming the variable, when the server cannot be reached', async () => {
    const driver =
      provider.name === 'openai'
        ? new OpenAIDriver({ baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'x', retry: fastRetries })
        : new AnthropicDriver({ baseUrl: 'http://127.0.0.1:1', apiKey: 'x', retry: fastRetries });
    const error = (await driver
      .complete(request(), { signal })
      .catch((caught: unknown) => caught)) as AosError;
    expect(error.code).toBe('unavailable');
    expect(error.hint).toMatch(provider.name === 'openai' ? /OPENAI_BASE_URL/ : /ANTHROPIC_BASE_URL/);
  });
});

describe('driver set-up', () => {
  it('refuses to start without an API key, naming the variable', () => {
    const saved = {
      openai: process.env.OPENAI_API_KEY,
      url: process.env.OPENAI_BASE_URL,
      anthropic: process.env.ANTHROPIC_API_KEY,
    };
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;
    delete process.env.ANTHROPIC_API_KEY;
    try {
      for (const make of [() => new OpenAIDriver(), () => new AnthropicDriver()]) {
        const error = (() => {
          try {
            make();
          } catch (caught) {
            return caught as AosError;
          }
          throw new Error('expected an error');
        })();
        expect(error.code).toBe('unavailable');
        expect(error.hint).toMatch(/_API_KEY/);
      }
    } finally {
      if (saved.openai !== undefined) process.env.OPENAI_API_KEY = saved.openai;
      if (saved.url !== undefined) process.env.OPENAI_BASE_URL = saved.url;
      if (saved.anthropic !== undefined) process.env.ANTHROPIC_API_KEY = saved.anthropic;
    }
  });

  it('keeps arguments that are not a JSON object raw, so the call fails back to the model', () => {
    expect(toolCallOf('c1', 'lookup', '{"word": "x"}')).toEqual({
      id: 'c1',
      name: 'lookup',
      arguments: { word: 'x' },
    });
    expect(toolCallOf('c2', 'lookup', '')).toEqual({ id: 'c2', name: 'lookup', arguments: {} });
    expect(toolCallOf('c3', 'lookup', '{"word": ')).toMatchObject({
      arguments: {},
      invalidArguments: '{"word": ',
    });
    expect(toolCallOf('c4', 'lookup', '[1,2]')).toMatchObject({ invalidArguments: '[1,2]' });
  });
});
