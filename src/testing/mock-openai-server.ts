/**
 * A mock OpenAI-compatible server for tests: POST /v1/chat/completions as JSON, or as SSE with
 * `stream: true` (tool calls as tool_call deltas, a final usage chunk with
 * `stream_options.include_usage`), and GET /v1/models; the wire format of the official SDK's types.
 *
 *   const server = await startMockOpenAI({ replies: [{ text: 'hi' }] });
 *   const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test' });
 *
 * Prompt tokens are counted over the tools and messages in order; the prefix shared with a recent
 * request is reported as `prompt_tokens_details.cached_tokens` in 128-token blocks from 1,024 tokens,
 * as OpenAI's automatic prompt caching does. See docs/testing.md.
 */
import {
  argumentsText,
  fragmentsOf,
  isObject,
  type MockOptions,
  type MockReply,
  MockRequestError,
  type MockServer,
  type MockUsage,
  type ParsedPrompt,
  type ProviderAdapter,
  type SseEvent,
  startMockServer,
  textOf,
} from './mock-provider-core.js';

type OpenAIPrompt = ParsedPrompt & { includeUsage: boolean };

const finishReasons: Record<string, string> = {
  end_turn: 'stop',
  tool_use: 'tool_calls',
  max_tokens: 'length',
};
const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'invalid_request_error',
  403: 'permission_error',
  404: 'invalid_request_error',
  429: 'requests',
};
const errorCodes: Record<number, string> = { 401: 'invalid_api_key', 429: 'rate_limit_exceeded' };
const defaultMessages: Record<number, string> = {
  401: 'Incorrect API key provided.',
  429: 'Rate limit reached for requests. Please try again later.',
  500: 'The server had an error while processing your request. Sorry about that!',
  503: 'The engine is currently overloaded, please try again later.',
};

/** Starts a mock OpenAI server (default 127.0.0.1, a free port); the SDK's base URL is `${server.url}/v1`. */
export function startMockOpenAI(options: MockOptions = {}): Promise<MockServer> {
  return startMockServer(openAIAdapter, options);
}

const openAIAdapter: ProviderAdapter<OpenAIPrompt> = {
  completionPath: '/v1/chat/completions',
  cacheMode: 'prefix',
  requestIdHeader: 'x-request-id',
  apiKeyOf: (headers) => headers.authorization?.replace(/^Bearer\s+/i, ''),

  parse(body) {
    if (typeof body.model !== 'string') throw new MockRequestError("Missing required parameter: 'model'.");
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new MockRequestError("Missing required parameter: 'messages'.");
    }
    const messages: unknown[] = body.messages;
    const lastUser = messages.filter((message) => isObject(message) && message.role === 'user').at(-1);
    return {
      model: body.model,
      stream: body.stream === true,
      includeUsage: isObject(body.stream_options) && body.stream_options.include_usage === true,
      // Tools first: OpenAI renders them at the start of the prompt, so they belong to the cached prefix.
      segments: [
        ...(Array.isArray(body.tools) ? [{ text: JSON.stringify(body.tools) }] : []),
        ...messages.map((message) => ({ text: JSON.stringify(message) })),
      ],
      lastUserText: isObject(lastUser) ? textOf(lastUser.content) : '',
    };
  },

  render(reply, usage, prompt, sequence) {
    const head = {
      id: `chatcmpl-mock${sequence}`,
      created: Math.floor(Date.now() / 1000),
      model: prompt.model,
      service_tier: 'default',
      system_fingerprint: 'fp_mock',
    };
    const calls = (reply.toolCalls ?? []).map((call, index) => ({
      id: call.id ?? `call_mock_${sequence}_${index}`,
      type: 'function',
      function: { name: call.name, arguments: argumentsText(call) },
    }));
    const finishReason = finishReasonOf(reply);
    if (!prompt.stream) {
      const message = {
        role: 'assistant',
        content: reply.text ?? (calls.length > 0 ? null : ''),
        refusal: null,
        annotations: [],
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      };
      const choice = { index: 0, message, logprobs: null, finish_reason: finishReason };
      const reported = reply.usage === false ? {} : { usage: usageOf(usage) };
      return { json: { ...head, object: 'chat.completion', choices: [choice], ...reported } };
    }
    // With include_usage, every chunk carries `usage: null` and one more chunk, without choices, the usage.
    const chunk = (delta: Record<string, unknown>, finish: string | null = null): SseEvent => ({
      data: JSON.stringify({
        ...head,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        ...(prompt.includeUsage && reply.usage !== false ? { usage: null } : {}),
      }),
    });
    const events = [chunk({ role: 'assistant', content: '', refusal: null })];
    for (const content of fragmentsOf(reply.text ?? '')) events.push(chunk({ content }));
    calls.forEach((call, index) => {
      if (reply.toolCallIndex === false) {
        // Gemini's OpenAI-compatible endpoint: each call whole, in one delta, without an index.
        events.push(chunk({ tool_calls: [call] }));
        return;
      }
      const start = {
        index,
        id: call.id,
        type: 'function',
        function: { name: call.function.name, arguments: '' },
      };
      events.push(chunk({ tool_calls: [start] }));
      for (const piece of fragmentsOf(call.function.arguments)) {
        events.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
      }
    });
    events.push(chunk({}, finishReason));
    if (prompt.includeUsage && reply.usage !== false) {
      const final = { ...head, object: 'chat.completion.chunk', choices: [], usage: usageOf(usage) };
      events.push({ data: JSON.stringify(final) });
    }
    events.push({ data: '[DONE]' });
    return events;
  },

  errorBody({ status, message, type }) {
    return {
      error: {
        message: message ?? defaultMessages[status] ?? `Mock error ${status}.`,
        type: type ?? errorTypes[status] ?? 'server_error',
        param: null,
        code: errorCodes[status] ?? null,
      },
    };
  },

  contextLengthBody(tokens, limit) {
    const maximum = limit ?? 128_000;
    const message =
      `This model's maximum context length is ${maximum} tokens. However, your messages resulted in ` +
      `${Math.max(tokens, maximum + 1)} tokens. Please reduce the length of the messages.`;
    return {
      error: { message, type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    };
  },

  get(path, models) {
    const list = models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'aos-mock' }));
    if (path === '/v1/models') return { object: 'list', data: list };
    return list.find((model) => path === `/v1/models/${model.id}`);
  },
};

function finishReasonOf(reply: MockReply): string {
  if (reply.stopReason !== undefined) return finishReasons[reply.stopReason] ?? reply.stopReason;
  return (reply.toolCalls ?? []).length > 0 ? 'tool_calls' : 'stop';
}

function usageOf(usage: MockUsage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheRead, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}
