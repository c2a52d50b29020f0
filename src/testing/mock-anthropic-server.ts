/**
 * A mock Anthropic server for tests: POST /v1/messages as JSON, or with `stream: true` as the real
 * event sequence (message_start, ping, content_block_start/delta/stop with text_delta and
 * input_json_delta, message_delta with stop_reason and usage, message_stop); the wire format of the
 * official SDK's types, and errors in Anthropic's shape (529 overloaded_error, ...).
 *
 *   const server = await startMockAnthropic({ replies: [{ text: 'hi' }] });
 *   const client = new Anthropic({ baseURL: server.url, apiKey: 'test' });
 *
 * Prompt tokens are counted over tools, system and messages in order. As on Anthropic, only a prefix
 * that ends at a cache_control breakpoint is cached: the longest one a recent request cached is
 * reported as cache_read_input_tokens, the rest up to the last breakpoint as
 * cache_creation_input_tokens (from 1,024 tokens), and input_tokens is what is left. See docs/testing.md.
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
  type PromptSegment,
  type ProviderAdapter,
  type SseEvent,
  startMockServer,
  textOf,
} from './mock-provider-core.js';

const stopReasons: Record<string, string> = {
  stop: 'end_turn',
  tool_calls: 'tool_use',
  length: 'max_tokens',
};
const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};
const defaultMessages: Record<number, string> = {
  401: 'invalid x-api-key',
  429: 'This request would exceed the rate limit for your organization. Please try again later.',
  500: 'Internal server error',
  529: 'Overloaded',
};
const maxBreakpoints = 4;

/** Starts a mock Anthropic server (default 127.0.0.1, a free port); the SDK's base URL is `server.url`. */
export function startMockAnthropic(options: MockOptions = {}): Promise<MockServer> {
  return startMockServer(anthropicAdapter, options);
}

const anthropicAdapter: ProviderAdapter<ParsedPrompt> = {
  completionPath: '/v1/messages',
  cacheMode: 'breakpoints',
  requestIdHeader: 'request-id',
  apiKeyOf: (headers) => {
    const key = headers['x-api-key'];
    return typeof key === 'string' ? key : headers.authorization?.replace(/^Bearer\s+/i, '');
  },

  parse(body) {
    if (typeof body.model !== 'string') throw new MockRequestError('model: Field required');
    if (typeof body.max_tokens !== 'number') throw new MockRequestError('max_tokens: Field required');
    if (!Array.isArray(body.messages)) throw new MockRequestError('messages: Field required');
    // Anthropic's cache order: tools, then system, then messages.
    const segments: PromptSegment[] = (Array.isArray(body.tools) ? body.tools : []).map(segmentOf);
    if (typeof body.system === 'string') segments.push({ text: body.system });
    if (Array.isArray(body.system)) segments.push(...body.system.map(segmentOf));
    let lastUserText = '';
    for (const message of body.messages as unknown[]) {
      if (!isObject(message)) throw new MockRequestError('messages: Input should be a valid dictionary');
      segments.push({ text: `\n\n${String(message.role)}:` });
      if (Array.isArray(message.content)) segments.push(...message.content.map(segmentOf));
      else segments.push({ text: String(message.content) });
      if (message.role === 'user') lastUserText = textOf(message.content);
    }
    const found = segments.filter((segment) => segment.breakpoint).length;
    if (found > maxBreakpoints) {
      throw new MockRequestError(
        `A maximum of ${maxBreakpoints} blocks with cache_control may be provided. Found ${found}.`,
      );
    }
    return { model: body.model, stream: body.stream === true, segments, lastUserText };
  },

  render(reply, usage, prompt, sequence) {
    const calls = (reply.toolCalls ?? []).map((call, index) => ({
      id: call.id ?? `toolu_mock_${sequence}_${index}`,
      name: call.name,
      json: argumentsText(call),
    }));
    const hasText = reply.text !== undefined || calls.length === 0;
    const textBlock = { type: 'text', text: reply.text ?? '', citations: null };
    const toolBlock = (call: (typeof calls)[number], input: unknown) => ({
      type: 'tool_use',
      id: call.id,
      name: call.name,
      input,
      caller: { type: 'direct' },
    });
    const message = {
      id: `msg_mock_${sequence}`,
      type: 'message',
      role: 'assistant',
      model: prompt.model,
      stop_sequence: null,
      stop_details: null,
      container: null,
      diagnostics: null,
    };
    const stopReason = stopReasonOf(reply);
    if (!prompt.stream) {
      const content = [
        ...(hasText ? [textBlock] : []),
        ...calls.map((call) => toolBlock(call, inputOf(call.json))),
      ];
      const reported = reply.usage === false ? {} : { usage: usageOf(usage, usage.outputTokens) };
      return { json: { ...message, content, stop_reason: stopReason, ...reported } };
    }
    const event = (data: { type: string } & Record<string, unknown>): SseEvent => ({
      event: data.type,
      data: JSON.stringify(data),
    });
    const start = {
      ...message,
      content: [],
      stop_reason: null,
      ...(reply.usage === false ? {} : { usage: usageOf(usage, 1) }),
    };
    const events = [event({ type: 'message_start', message: start }), event({ type: 'ping' })];
    const block = (index: number, contentBlock: unknown, deltas: Record<string, unknown>[]) => {
      events.push(event({ type: 'content_block_start', index, content_block: contentBlock }));
      for (const delta of deltas) events.push(event({ type: 'content_block_delta', index, delta }));
      events.push(event({ type: 'content_block_stop', index }));
    };
    if (hasText) {
      block(
        0,
        { ...textBlock, text: '' },
        fragmentsOf(textBlock.text).map((text) => ({ type: 'text_delta', text })),
      );
    }
    calls.forEach((call, index) => {
      // As Anthropic does, the input arrives as JSON fragments after an empty one.
      const json = ['', ...fragmentsOf(call.json)].map((partial_json) => ({
        type: 'input_json_delta',
        partial_json,
      }));
      block(index + (hasText ? 1 : 0), toolBlock(call, {}), json);
    });
    const {
      cache_creation: _,
      service_tier: __,
      inference_geo: ___,
      ...final
    } = usageOf(usage, usage.outputTokens);
    const delta = { stop_reason: stopReason, stop_sequence: null, stop_details: null, container: null };
    const finalUsage = reply.usage === false ? {} : { usage: final };
    events.push(event({ type: 'message_delta', delta, ...finalUsage }), event({ type: 'message_stop' }));
    return events;
  },

  errorBody({ status, message, requestId }) {
    const type = errorTypes[status] ?? 'api_error';
    const text = message ?? defaultMessages[status] ?? `Mock error ${status}`;
    return { type: 'error', error: { type, message: text }, request_id: requestId };
  },

  contextLengthBody(tokens, limit, requestId) {
    const maximum = limit ?? 200_000;
    const message = `prompt is too long: ${Math.max(tokens, maximum + 1)} tokens > ${maximum} maximum`;
    return anthropicAdapter.errorBody({ status: 400, message, requestId });
  },
};

/** A block or tool as a prompt segment: its cache_control marks a breakpoint and is left out of the text. */
function segmentOf(block: unknown): PromptSegment {
  if (!isObject(block)) return { text: String(block) };
  const { cache_control, ...rest } = block;
  return { text: JSON.stringify(rest), breakpoint: isObject(cache_control) };
}

/** A tool's input: the parsed arguments, or the raw text when the script gave arguments that are not JSON. */
function inputOf(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}

function stopReasonOf(reply: MockReply): string {
  if (reply.stopReason !== undefined) return stopReasons[reply.stopReason] ?? reply.stopReason;
  return (reply.toolCalls ?? []).length > 0 ? 'tool_use' : 'end_turn';
}

function usageOf(usage: MockUsage, outputTokens: number) {
  return {
    input_tokens: usage.inputTokens - usage.cacheRead - usage.cacheCreation,
    cache_creation_input_tokens: usage.cacheCreation,
    cache_read_input_tokens: usage.cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: usage.cacheCreation, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: null,
    server_tool_use: null,
    service_tier: 'standard',
    inference_geo: null,
  };
}
