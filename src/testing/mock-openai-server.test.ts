/**
 * The mock OpenAI server through the official SDK: completions as JSON and as streams (text, tool
 * call deltas, the usage chunk), the model list, cached tokens of a shared prefix, and each kind of
 * scripted failure as the SDK sees it.
 */
import OpenAI, { type APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startMockOpenAI } from './mock-openai-server.js';
import { countMockTokens, type MockOptions, type MockServer } from './mock-provider-core.js';

let server: MockServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(options: MockOptions = {}) {
  server = await startMockOpenAI(options);
  return {
    server,
    client: new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test', maxRetries: 0, logLevel: 'off' }),
  };
}

const messages: OpenAI.ChatCompletionMessageParam[] = [
  { role: 'system', content: 'You are a test.' },
  { role: 'user', content: 'define aardvark' },
];
const lookup = { name: 'lookup', arguments: { word: 'aardvark', senses: ['animal', 'word'] } };

describe('the mock OpenAI server, through the SDK', () => {
  it('answers a completion with text and usage', async () => {
    const { client } = await start({ replies: [{ text: 'A mammal.' }] });
    const completion = await client.chat.completions.create({ model: 'gpt-mock', messages });
    expect(completion).toMatchObject({ object: 'chat.completion', model: 'gpt-mock' });
    expect(completion.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { role: 'assistant', content: 'A mammal.' },
    });
    expect(completion.usage).toMatchObject({
      prompt_tokens: server!.requests[0]!.inputTokens,
      completion_tokens: countMockTokens('A mammal.'),
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );
  });

  it('answers tool calls with ids, names and JSON arguments', async () => {
    const { client } = await start({
      replies: [{ toolCalls: [lookup, { name: 'raw', arguments: '{"a": ' }] }],
    });
    const completion = await client.chat.completions.create({ model: 'gpt-mock', messages });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const calls = choice.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    expect(calls.map((call) => [call.type, call.function.name])).toEqual([
      ['function', 'lookup'],
      ['function', 'raw'],
    ]);
    expect(JSON.parse(calls[0]!.function.arguments)).toEqual(lookup.arguments);
    expect(calls[1]!.function.arguments).toBe('{"a": ');
    expect(new Set(calls.map((call) => call.id)).size).toBe(2);
  });

  it('streams text and tool call deltas that the SDK assembles, then a usage chunk', async () => {
    const text = 'Let me look that word up for you.';
    const { client } = await start({ replies: [{ text, toolCalls: [lookup, lookup] }] });
    const stream = await client.chat.completions.create({
      model: 'gpt-mock',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.filter((delta) => delta.content).length).toBeGreaterThan(1);
    expect(deltas.map((delta) => delta.content ?? '').join('')).toBe(text);
    const parts = deltas.flatMap((delta) => delta.tool_calls ?? []);
    expect(parts.filter((part) => part.id !== undefined).map((part) => part.index)).toEqual([0, 1]);
    expect(parts.filter((part) => part.index === 0).length).toBeGreaterThan(2);
    const args = parts.filter((part) => part.index === 1).map((part) => part.function?.arguments ?? '');
    expect(JSON.parse(args.join(''))).toEqual(lookup.arguments);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls');
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: server!.requests[0]!.inputTokens });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
  });

  it("streams in the shape the SDK's own accumulator reads, without usage unless asked", async () => {
    const { client } = await start({ replies: [{ text: 'Looking.', toolCalls: [lookup] }] });
    const completion = await client.chat.completions
      .stream({ model: 'gpt-mock', messages })
      .finalChatCompletion();
    const message = completion.choices[0]!.message;
    expect(message.content).toBe('Looking.');
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(JSON.parse(call.function.arguments)).toEqual(lookup.arguments);
    expect(completion.usage).toBeUndefined();
  });

  it('lists its models', async () => {
    const { client } = await start({ models: ['gpt-a', 'gpt-b'] });
    const page = await client.models.list();
    expect(page.data.map((model) => model.id)).toEqual(['gpt-a', 'gpt-b']);
    expect((await client.models.retrieve('gpt-b')).object).toBe('model');
  });

  it('reports a shared prefix of 1,024 tokens or more as cached tokens, in 128-token blocks', async () => {
    const { client } = await start();
    const system = { role: 'system' as const, content: 'Rules of the house. '.repeat(300) };
    const first = await client.chat.completions.create({ model: 'm', messages: [system, messages[1]!] });
    const second = await client.chat.completions.create({
      model: 'm',
      messages: [
        system,
        messages[1]!,
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'more' },
      ],
    });
    const other = await client.chat.completions.create({ model: 'm', messages: [messages[1]!, system] });
    const cached = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect(cached % 128).toBe(0);
    // Everything the first request sent, except its closing bracket, is shared: at most a block is not counted.
    expect(cached).toBeGreaterThan(first.usage!.prompt_tokens - 128 - 2);
    expect(cached).toBeLessThanOrEqual(first.usage!.prompt_tokens);
    expect(other.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(server!.stats.cachedTokens).toBe(cached);
  });

  it('reports nothing cached below 1,024 tokens, or with the cache off', async () => {
    for (const cache of [undefined, false as const]) {
      const { client } = await start(cache === false ? { cache } : {});
      const long = { role: 'system' as const, content: 'Rules. '.repeat(cache === false ? 800 : 100) };
      for (let index = 0; index < 2; index++) {
        const completion = await client.chat.completions.create({ model: 'm', messages: [long] });
        expect(completion.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
      }
      await server!.close();
      server = undefined;
    }
  });

  it('fails as OpenAI fails: 500, 429 with retry-after, context length, a verbatim body', async () => {
    const { client } = await start({
      replies: [
        { error: { status: 500 } },
        { error: { status: 429, retryAfterSeconds: 3 } },
        { contextTooLong: true },
        { error: { status: 400, body: { error: { message: 'custom', type: 'x', code: 'y' } } } },
      ],
    });
    const failure = () =>
      client.chat.completions.create({ model: 'm', messages }).catch((error: unknown) => error);
    const server500 = await failure();
    expect(server500).toBeInstanceOf(OpenAI.InternalServerError);
    expect(server500).toMatchObject({ status: 500, type: 'server_error' });
    const limited = await failure();
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect(limited).toMatchObject({ code: 'rate_limit_exceeded' });
    expect((limited as APIError).headers?.get('retry-after')).toBe('3');
    const tooLong = await failure();
    expect(tooLong).toBeInstanceOf(OpenAI.BadRequestError);
    expect(tooLong).toMatchObject({ code: 'context_length_exceeded', param: 'messages' });
    expect((tooLong as Error).message).toContain('maximum context length');
    expect(await failure()).toMatchObject({ status: 400, code: 'y', message: '400 custom' });
  });

  it('sends garbage: a body or stream event that is not JSON, or a connection dropped halfway', async () => {
    const { client } = await start();
    for (const garbage of ['invalid-json', 'truncated-stream'] as const) {
      server!.respondWith([{ garbage }]);
      const whole = await client.chat.completions
        .create({ model: 'm', messages })
        .catch((error: unknown) => error);
      expect(whole).toBeInstanceOf(Error);
      const streamed = await (async () => {
        const stream = await client.chat.completions.create({ model: 'm', messages, stream: true });
        for await (const _chunk of stream) {
          // drains the stream until it fails
        }
      })().catch((error: unknown) => error);
      expect(streamed, garbage).toBeInstanceOf(Error);
    }
  });
});
