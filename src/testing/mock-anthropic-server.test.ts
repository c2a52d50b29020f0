/**
 * The mock Anthropic server through the official SDK: messages as JSON and as the real event
 * stream, cache reads and writes at cache_control breakpoints, and each kind of scripted failure
 * as the SDK sees it (529 overloaded_error, rate limits, prompt too long, garbage).
 */
import Anthropic, { type APIError } from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockAnthropic } from './mock-anthropic-server.js';
import { countMockTokens, type MockOptions, type MockServer } from './mock-provider-core.js';

let server: MockServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: MockOptions = {}) {
  server = await startMockAnthropic(options);
  return {
    server,
    client: new Anthropic({ baseURL: server.url, apiKey: 'test', maxRetries: 0, logLevel: 'off' }),
  };
}

const base = { model: 'claude-mock', max_tokens: 1024 };
const messages: Anthropic.MessageParam[] = [{ role: 'user', content: 'define aardvark' }];
const lookup = { name: 'lookup', arguments: { word: 'aardvark', senses: ['animal', 'word'] } };
const ephemeral = { type: 'ephemeral' as const };

describe('the mock Anthropic server, through the SDK', () => {
  it('answers a message with text, tool use and usage', async () => {
    const { client } = await start({ replies: [{ text: 'Let me look.', toolCalls: [lookup] }] });
    const message = await client.messages.create({ ...base, system: 'You are a test.', messages });
    expect(message).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-mock' });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content).toMatchObject([
      { type: 'text', text: 'Let me look.' },
      { type: 'tool_use', name: 'lookup', input: lookup.arguments },
    ]);
    expect((message.content[1] as Anthropic.ToolUseBlock).id).toMatch(/^toolu_/);
    expect(message.usage).toMatchObject({
      input_tokens: server!.requests[0]!.inputTokens,
      output_tokens: countMockTokens(`Let me look.lookup${JSON.stringify(lookup.arguments)}`),
      cache_read_input_tokens: 0,
      cache_creation_input_tokens: 0,
    });
    expect(server!.requests[0]!.headers['anthropic-version']).toBeDefined();
  });

  it('streams the real event sequence, with text and input JSON in fragments', async () => {
    const text = 'Let me look that word up for you.';
    const { client } = await start({ replies: [{ text, toolCalls: [lookup] }] });
    const stream = await client.messages.create({ ...base, messages, stream: true });
    const events: Anthropic.RawMessageStreamEvent[] = [];
    for await (const event of stream) events.push(event);
    const kinds = events.map((event) =>
      event.type === 'content_block_delta' ? `delta:${event.index}:${event.delta.type}` : event.type,
    );
    const collapsed = kinds.filter((kind, index) => kind !== kinds[index - 1]);
    expect(collapsed).toEqual([
      'message_start',
      'content_block_start',
      'delta:0:text_delta',
      'content_block_stop',
      'content_block_start',
      'delta:1:input_json_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(kinds.filter((kind) => kind === 'delta:0:text_delta').length).toBeGreaterThan(1);
    expect(kinds.filter((kind) => kind === 'delta:1:input_json_delta').length).toBeGreaterThan(2);
    const opening = events[0] as Anthropic.RawMessageStartEvent;
    expect(opening.message.usage.input_tokens).toBe(server!.requests[0]!.inputTokens);
    const delta = events.find((event) => event.type === 'message_delta') as Anthropic.RawMessageDeltaEvent;
    expect(delta.delta.stop_reason).toBe('tool_use');
    expect(delta.usage.output_tokens).toBeGreaterThan(1);
  });

  it("streams in the shape the SDK's own accumulator reads", async () => {
    const { client } = await start({
      replies: [{ text: 'Looking.', toolCalls: [lookup], stopReason: 'stop' }],
    });
    const message = await client.messages.stream({ ...base, messages }).finalMessage();
    expect(message.content).toMatchObject([
      { type: 'text', text: 'Looking.' },
      { type: 'tool_use', name: 'lookup', input: lookup.arguments },
    ]);
    expect(message.stop_reason).toBe('end_turn');
  });

  it('reads and writes the cache only at cache_control breakpoints', async () => {
    const { client } = await start();
    const rules = 'Rules of the house. '.repeat(300);
    const system = [{ type: 'text' as const, text: rules, cache_control: ephemeral }];
    const ask = (extra: Partial<Anthropic.MessageCreateParamsNonStreaming>) =>
      client.messages.create({ ...base, messages, ...extra }).then((message) => message.usage);

    const first = await ask({ system });
    expect(first.cache_read_input_tokens).toBe(0);
    expect(first.cache_creation_input_tokens).toBeGreaterThanOrEqual(1024);
    const written = first.cache_creation_input_tokens!;
    const total = server!.requests[0]!.inputTokens;
    expect(first.input_tokens).toBe(total - written);

    const second = await ask({ system });
    expect(second.cache_read_input_tokens).toBe(Math.floor(written / 128) * 128);
    expect(second.cache_creation_input_tokens).toBe(0);
    expect(second.input_tokens + second.cache_read_input_tokens!).toBe(total);

    // A breakpoint at the end of the transcript: the system prefix is read, the rest up to it written.
    const turn: Anthropic.MessageParam[] = [
      {
        role: 'user',
        content: [{ type: 'text', text: 'define aardvark '.repeat(20), cache_control: ephemeral }],
      },
    ];
    const third = await ask({ system, messages: turn });
    expect(third.cache_read_input_tokens).toBe(second.cache_read_input_tokens);
    expect(third.cache_creation_input_tokens).toBe(server!.requests[2]!.inputTokens - written);

    // The same long prompt without breakpoints is never cached, as a string or as blocks.
    const plain = await ask({ system: rules });
    const again = await ask({ system: [{ type: 'text', text: rules }] });
    await ask({ system: [{ type: 'text', text: rules }] });
    expect([plain.cache_read_input_tokens, again.cache_read_input_tokens]).toEqual([0, 0]);
    expect(again.cache_creation_input_tokens).toBe(0);
    expect(server!.stats.cacheCreationTokens).toBe(written + third.cache_creation_input_tokens!);
    expect(server!.stats.cachedTokens).toBe(second.cache_read_input_tokens! * 2);
  });

  it('caches no prefix shorter than 1,024 tokens, and refuses more than 4 breakpoints', async () => {
    const { client } = await start();
    const short = [{ type: 'text' as const, text: 'Short rules.', cache_control: ephemeral }];
    for (let index = 0; index < 2; index++) {
      const message = await client.messages.create({ ...base, system: short, messages });
      expect([message.usage.cache_read_input_tokens, message.usage.cache_creation_input_tokens]).toEqual([
        0, 0,
      ]);
    }
    const five = Array.from({ length: 5 }, () => ({ ...short[0]! }));
    const error = await client.messages
      .create({ ...base, system: five, messages })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.BadRequestError);
    expect((error as Error).message).toContain('A maximum of 4 blocks with cache_control');
  });

  it('fails as Anthropic fails: 529 overloaded, 429 over a limit, prompt too long, 500', async () => {
    const { client } = await start({
      tokensPerMinute: 5_000,
      replies: [{ error: { status: 529 } }, { contextTooLong: true }, { error: { status: 500 } }],
    });
    const failure = (content = 'define aardvark') =>
      client.messages.create({ ...base, messages: [{ role: 'user', content }] }).then(
        () => {
          throw new Error('expected a failure');
        },
        (error: unknown) => error as APIError,
      );
    const overloaded = await failure();
    expect(overloaded).toBeInstanceOf(Anthropic.OverloadedError);
    expect(overloaded).toMatchObject({ status: 529, type: 'overloaded_error' });
    expect(overloaded.requestID).toBe('req_mock_1');
    expect(overloaded.error).toMatchObject({ type: 'error', request_id: 'req_mock_1' });
    const tooLong = await failure();
    expect(tooLong).toMatchObject({ status: 400, type: 'invalid_request_error' });
    expect(tooLong.message).toContain('prompt is too long');
    expect(await failure()).toMatchObject({ status: 500, type: 'api_error' });
    const limited = await failure('word '.repeat(6_000));
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited).toMatchObject({ type: 'rate_limit_error' });
    expect(Number(limited.headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(server!.stats.rateLimited).toBe(1);
  });

  it('refuses another API key when one is set (the SDK sends it as a bearer token or x-api-key)', async () => {
    const { client } = await start({ apiKey: 'right' });
    const refused = await client.messages.create({ ...base, messages }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(refused).toMatchObject({ type: 'authentication_error' });
    const right = new Anthropic({ baseURL: server!.url, apiKey: 'right', maxRetries: 0 });
    expect((await right.messages.create({ ...base, messages })).type).toBe('message');
    const viaHeader = await fetch(`${server!.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'right', 'content-type': 'application/json' },
      body: JSON.stringify({ ...base, messages }),
    });
    expect(viaHeader.status).toBe(200);
  });

  it('sends garbage: a body or stream event that is not JSON, or a connection dropped halfway', async () => {
    const { client } = await start();
    for (const garbage of ['invalid-json', 'truncated-stream'] as const) {
      server!.respondWith([{ garbage }]);
      const whole = await client.messages.create({ ...base, messages }).catch((error: unknown) => error);
      expect(whole).toBeInstanceOf(Error);
      const streamed = await client.messages
        .stream({ ...base, messages })
        .finalMessage()
        .catch((error: unknown) => error);
      expect(streamed, garbage).toBeInstanceOf(Error);
    }
  });
});
