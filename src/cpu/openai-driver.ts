/**
 * The `openai:MODEL` driver: chat completions with tools and streaming, through the
 * official SDK, against OpenAI or any compatible server (OPENAI_BASE_URL: Ollama,
 * vLLM, llama.cpp, DeepSeek, OpenRouter).
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { CallOptions, Message, ModelDriver, ModelRequest, ModelResponse, ToolCall } from './model.js';
import { checkModelCredentials, openAIDefaultBaseUrl } from './model-credentials.js';
import { GarbageResponseError, type ProviderInfo, providerError } from './provider-error.js';
import { createProviderFetch } from './provider-fetch.js';
import { announcedLimitsOf } from './rate-limit-headers.js';
import { defaultRetryPolicy, type RetryPolicy, withRetries } from './retry.js';
import { TokenCounter } from './token-counter.js';
import { ToolCallAssembler } from './tool-call-assembler.js';

export interface OpenAIDriverOptions {
  /** Default: OPENAI_API_KEY. Not required when a base URL is set (local servers). */
  apiKey?: string | undefined;
  /** Default: OPENAI_BASE_URL, else OpenAI's own. */
  baseUrl?: string | undefined;
  /** Per attempt; default 120 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Stream the answer (default true). */
  stream?: boolean;
}

const defaultBaseUrl = openAIDefaultBaseUrl;

export class OpenAIDriver implements ModelDriver {
  private readonly client: OpenAI;
  private readonly provider: ProviderInfo;
  private readonly retry: RetryPolicy;
  private readonly stream: boolean;

  constructor(options: OpenAIDriverOptions = {}) {
    const baseUrl = options.baseUrl ?? process.env.OPENAI_BASE_URL ?? defaultBaseUrl;
    const apiKey = options.apiKey ?? process.env.OPENAI_API_KEY;
    this.provider = {
      name: 'openai',
      baseUrl,
      keyVariable: 'OPENAI_API_KEY',
      urlVariable: 'OPENAI_BASE_URL',
    };
    checkModelCredentials('openai', process.env, { apiKey, baseUrl });
    this.client = new OpenAI({
      apiKey: apiKey || 'not-needed',
      baseURL: baseUrl,
      timeout: options.timeoutMs ?? 120_000,
      maxRetries: 0,
      fetch: createProviderFetch(),
    });
    this.retry = options.retry ?? defaultRetryPolicy;
    this.stream = options.stream ?? true;
  }

  complete(request: ModelRequest, options: CallOptions): Promise<ModelResponse> {
    const body = {
      model: request.model,
      messages: [
        { role: 'system', content: request.system } as const,
        ...request.messages.map(toOpenAIMessage),
      ],
      ...(request.tools.length === 0
        ? {}
        : {
            tools: request.tools.map(
              (tool): ChatCompletionTool => ({
                type: 'function',
                function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
              }),
            ),
          }),
    };
    return withRetries(
      async () => {
        const response = this.stream
          ? await this.streamed(body, options.signal)
          : await this.whole(body, options.signal);
        return withUsage(response, request);
      },
      (error) => providerError(error, this.provider),
      this.retry,
      options.signal,
      options.gate,
    );
  }

  private async whole(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<Answer> {
    const { data: completion, response } = await this.client.chat.completions
      .create(body, { signal })
      .withResponse();
    const choice = completion.choices?.[0];
    if (choice === undefined) throw new GarbageResponseError('the completion has no choices');
    const toolCalls = (choice.message.tool_calls ?? []).flatMap((call, index) =>
      call.type === 'function'
        ? [toolCallOf(call.id || `call_${index}`, call.function.name, call.function.arguments)]
        : [],
    );
    return {
      content: choice.message.content ?? '',
      toolCalls,
      usage: completion.usage,
      rateLimits: announcedLimitsOf(response.headers),
    };
  }

  private async streamed(
    body: OpenAI.ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<Answer> {
    const { data: stream, response } = await this.client.chat.completions
      .create({ ...body, stream: true, stream_options: { include_usage: true } }, { signal })
      .withResponse();
    let content = '';
    const calls = new ToolCallAssembler();
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    let finished = false;
    for await (const chunk of stream) {
      chunks += 1;
      if (chunk.usage) usage = chunk.usage;
      if (chunk.choices?.[0]?.finish_reason) finished = true;
      const delta = chunk.choices?.[0]?.delta;
      if (delta === undefined) continue;
      if (typeof delta.content === 'string') content += delta.content;
      for (const part of delta.tool_calls ?? []) calls.add(part);
    }
    if (chunks === 0) throw new GarbageResponseError('the stream ended without a single chunk');
    // A stream cut short looks like a short answer; only a finish_reason says it is whole.
    if (!finished) throw new GarbageResponseError('the stream ended before a finish_reason');
    const toolCalls = calls
      .calls()
      .map((call, index) => toolCallOf(call.id || `call_${index}`, call.name, call.arguments));
    return { content, toolCalls, usage, rateLimits: announcedLimitsOf(response.headers) };
  }
}

/** An answer off the wire, before its usage is settled. */
interface Answer {
  content: string;
  toolCalls: ToolCall[];
  usage: OpenAI.CompletionUsage | undefined | null;
  rateLimits: ModelResponse['rateLimits'];
}

const counter = new TokenCounter();

/** The answer as a response: the provider's usage, or (when it sent none, as Ollama may) aos's own count, marked estimated. */
function withUsage(answer: Answer, request: ModelRequest): ModelResponse {
  const { usage, rateLimits, ...rest } = answer;
  const reported = typeof usage?.prompt_tokens === 'number' && usage.prompt_tokens > 0;
  return {
    ...rest,
    usage: reported ? usageOf(usage) : counter.estimatedUsage(request, answer.content, answer.toolCalls),
    ...(rateLimits === undefined ? {} : { rateLimits }),
  };
}

function toOpenAIMessage(message: Message): ChatCompletionMessageParam {
  switch (message.role) {
    case 'user':
    case 'notice':
      return { role: 'user', content: message.content };
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content === '' ? null : message.content,
        ...(message.toolCalls === undefined || message.toolCalls.length === 0
          ? {}
          : {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function' as const,
                function: {
                  name: call.name,
                  arguments: call.invalidArguments ?? JSON.stringify(call.arguments),
                },
              })),
            }),
      };
    case 'tool':
      return { role: 'tool', tool_call_id: message.toolCallId, content: message.content };
  }
}

/** A tool call from the wire; arguments that are not a JSON object are kept raw and fail the call. */
export function toolCallOf(id: string, name: string, rawArguments: string): ToolCall {
  const text = rawArguments.trim() === '' ? '{}' : rawArguments;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      return { id, name, arguments: parsed as Record<string, unknown> };
    }
  } catch {
    // falls through: the model sent something that is not JSON
  }
  return { id, name, arguments: {}, invalidArguments: rawArguments };
}

function usageOf(usage: OpenAI.CompletionUsage | undefined | null): ModelResponse['usage'] {
  return {
    inputTokens: usage?.prompt_tokens ?? 0,
    outputTokens: usage?.completion_tokens ?? 0,
    cachedInputTokens: usage?.prompt_tokens_details?.cached_tokens ?? 0,
  };
}
