/**
 * A mock OpenAI-compatible server: POST /v1/chat/completions, JSON or SSE streaming
 * (with stream_options.include_usage), tool calls, usage with
 * prompt_tokens_details.cached_tokens, and OpenAI's error bodies.
 *
 *   const server = await startMockOpenAI({ replies: [{ toolCalls: [...] }, { text: 'done' }] });
 *   process.env.OPENAI_BASE_URL = `${server.url}/v1`;
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
  401: 'invalid_api_key',
  429: 'rate_limit_exceeded',
  500: 'server_error',
  503: 'server_error',
};

const format: ProviderFormat = {
  path: '/chat/completions',
  serialize(body) {
    const messages = (body.messages as unknown[]) ?? [];
    return {
      text: JSON.stringify(body.tools ?? []) + messages.map((message) => JSON.stringify(message)).join(''),
      breakpoints: 'any',
    };
  },
  error(response, status, message, headers) {
    sendJson(
      response,
      status,
      { error: { message, type: errorTypes[status] ?? 'api_error', code: errorTypes[status] ?? null } },
      headers,
    );
  },
  contextTooLong(response, tokens) {
    sendJson(response, 400, {
      error: {
        message: `This model's maximum context length is 1024 tokens. However, your messages resulted in ${tokens} tokens.`,
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
      },
    });
  },
  answer(response, reply, usage, body) {
    const model = String(body.model ?? 'mock');
    const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
      id: `call_${Date.now().toString(36)}_${index}`,
      type: 'function' as const,
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
    const usageBody = {
      prompt_tokens: usage.inputTokens,
      completion_tokens: usage.outputTokens,
      total_tokens: usage.inputTokens + usage.outputTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    };
    const finishReason = toolCalls.length > 0 ? 'tool_calls' : 'stop';
    if (body.stream !== true) {
      if (reply.garbage) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('<html>upstream proxy error</html>');
        return;
      }
      sendJson(response, 200, {
        id: 'chatcmpl-mock',
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: reply.text ?? null,
              refusal: null,
              ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
            },
            finish_reason: finishReason,
            logprobs: null,
          },
        ],
        usage: usageBody,
      });
      return;
    }
    streamAnswer(response, reply, toolCalls, usageBody, finishReason, model, body);
  },
};

function streamAnswer(
  response: ServerResponse,
  reply: MockReply,
  toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[],
  usage: Record<string, unknown>,
  finishReason: string,
  model: string,
  body: Record<string, unknown>,
): void {
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const chunk = (
    delta: Record<string, unknown>,
    finish: string | null = null,
    extra: Record<string, unknown> = {},
  ) =>
    response.write(
      `data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra })}\n\n`,
    );
  chunk({ role: 'assistant', content: '' });
  if (reply.garbage) {
    response.write('data: {"id": "chatcmpl-mock", "choices": [{"delta": {"content": "trunc');
    response.destroy();
    return;
  }
  const text = reply.text ?? '';
  for (let index = 0; index < text.length; index += 8) chunk({ content: text.slice(index, index + 8) });
  toolCalls.forEach((call, index) => {
    chunk({
      tool_calls: [
        { index, id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } },
      ],
    });
    const args = call.function.arguments;
    for (let offset = 0; offset < args.length; offset += 10) {
      chunk({ tool_calls: [{ index, function: { arguments: args.slice(offset, offset + 10) } }] });
    }
  });
  chunk({}, finishReason);
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage) {
    response.write(
      `data: ${JSON.stringify({ id: 'chatcmpl-mock', object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model, choices: [], usage })}\n\n`,
    );
  }
  response.end('data: [DONE]\n\n');
}

/** Starts a mock OpenAI-compatible server; point OPENAI_BASE_URL at `${url}/v1`. */
export function startMockOpenAI(options: MockOptions = {}): Promise<MockServer> {
  return startMockProvider(format, options);
}

export type { MockUsage };
