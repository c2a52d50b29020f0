/**
 * A mock Anthropic server: POST /v1/messages, JSON or SSE streaming with the real event
 * sequence, tool_use blocks, usage with cache_read_input_tokens and
 * cache_creation_input_tokens (reads only up to a cache_control breakpoint), and
 * Anthropic's error bodies (529 overloaded_error included).
 *
 *   const server = await startMockAnthropic({ replies: [{ text: 'hello' }] });
 *   process.env.ANTHROPIC_BASE_URL = server.url;
 */
import type { ServerResponse } from 'node:http';
import {
  type MockOptions,
  type MockReply,
  type MockServer,
  type MockUsage,
  type ProviderFormat,
  sendJson,
  startMockProvider,
} from './mock-provider.js';

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  404: 'not_found_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** Serializes tools, system, then messages block by block, noting where cache_control breakpoints end. */
function serialize(body: Record<string, unknown>): { text: string; breakpoints: number[] } {
  let text = '';
  const breakpoints: number[] = [];
  const add = (block: unknown) => {
    text += JSON.stringify(block);
    if (block !== null && typeof block === 'object' && 'cache_control' in block)
      breakpoints.push(text.length);
  };
  for (const tool of (body.tools as unknown[]) ?? []) add(tool);
  const system = body.system;
  if (typeof system === 'string') add(system);
  else for (const block of (system as unknown[]) ?? []) add(block);
  for (const message of (body.messages as { role: string; content: unknown }[]) ?? []) {
    text += message.role;
    if (typeof message.content === 'string') add(message.content);
    else for (const block of (message.content as unknown[]) ?? []) add(block);
  }
  return { text, breakpoints };
}

const format: ProviderFormat = {
  path: '/messages',
  serialize,
  error(response, status, message, headers) {
    sendJson(
      response,
      status,
      { type: 'error', error: { type: errorTypes[status] ?? 'api_error', message } },
      headers,
    );
  },
  contextTooLong(response, tokens) {
    sendJson(response, 400, {
      type: 'error',
      error: {
        type: 'invalid_request_error',
        message: `prompt is too long: ${tokens} tokens > 1024 maximum`,
      },
    });
  },
  answer(response, reply, usage, body) {
    const content = contentOf(reply);
    const usageBody = {
      input_tokens: usage.inputTokens - usage.cachedTokens - usage.cacheCreationTokens,
      output_tokens: usage.outputTokens,
      cache_read_input_tokens: usage.cachedTokens,
      cache_creation_input_tokens: usage.cacheCreationTokens,
    };
    const stopReason = (reply.toolCalls ?? []).length > 0 ? 'tool_use' : 'end_turn';
    const message = {
      id: 'msg_mock',
      type: 'message',
      role: 'assistant',
      model: String(body.model ?? 'mock'),
      stop_sequence: null,
    };
    if (body.stream !== true) {
      if (reply.garbage) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"type": "message", "content": ');
        return;
      }
      sendJson(response, 200, { ...message, content, stop_reason: stopReason, usage: usageBody });
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const event = (type: string, data: Record<string, unknown>) =>
      response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
    event('message_start', {
      message: { ...message, content: [], stop_reason: null, usage: { ...usageBody, output_tokens: 1 } },
    });
    if (reply.garbage) {
      response.write('event: content_block_start\ndata: {"type": "content_blo');
      response.destroy();
      return;
    }
    content.forEach((block, index) => {
      if (block.type === 'text') {
        event('content_block_start', { index, content_block: { type: 'text', text: '' } });
        for (let offset = 0; offset < block.text.length; offset += 8) {
          event('content_block_delta', {
            index,
            delta: { type: 'text_delta', text: block.text.slice(offset, offset + 8) },
          });
        }
      } else {
        event('content_block_start', {
          index,
          content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} },
        });
        const json = JSON.stringify(block.input);
        for (let offset = 0; offset < json.length; offset += 10) {
          event('content_block_delta', {
            index,
            delta: { type: 'input_json_delta', partial_json: json.slice(offset, offset + 10) },
          });
        }
      }
      event('content_block_stop', { index });
    });
    event('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: usage.outputTokens },
    });
    event('message_stop', {});
    response.end();
  },
};

type Block =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function contentOf(reply: MockReply): Block[] {
  const blocks: Block[] = [];
  if (reply.text) blocks.push({ type: 'text', text: reply.text });
  (reply.toolCalls ?? []).forEach((call, index) =>
    blocks.push({
      type: 'tool_use',
      id: `toolu_${Date.now().toString(36)}_${index}`,
      name: call.name,
      input: call.arguments,
    }),
  );
  return blocks;
}

/** Starts a mock Anthropic server; point ANTHROPIC_BASE_URL at its url. */
export function startMockAnthropic(options: MockOptions = {}): Promise<MockServer> {
  return startMockProvider(format, options);
}

export type { MockUsage, ServerResponse };
