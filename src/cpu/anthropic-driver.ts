/**
 * The `anthropic:MODEL` driver: the Messages API with tools and streaming, through
 * the official SDK. Puts cache_control breakpoints at the end of the pinned prefix
 * (tools and system prompt) and at the end of the transcript, so each step reads
 * the previous step's prefix from the provider's cache.
 */
import Anthropic from '@anthropic-ai/sdk';
import type {
  Tool as AnthropicTool,
  ContentBlockParam,
  MessageParam,
} from '@anthropic-ai/sdk/resources/messages';
import type {
  CallOptions,
  Message,
  ModelDriver,
  ModelRequest,
  ModelResponse,
  ToolCall,
  Usage,
} from './model.js';
import { checkModelCredentials } from './model-credentials.js';
import { toolCallOf } from './openai-driver.js';
import { GarbageResponseError, type ProviderInfo, providerError } from './provider-error.js';
import { createProviderFetch } from './provider-fetch.js';
import { announcedLimitsOf } from './rate-limit-headers.js';
import { defaultRetryPolicy, type RetryPolicy, withRetries } from './retry.js';
import { TokenCounter } from './token-counter.js';

export interface AnthropicDriverOptions {
  /** Default: ANTHROPIC_API_KEY. */
  apiKey?: string | undefined;
  /** Default: ANTHROPIC_BASE_URL, else Anthropic's own. */
  baseUrl?: string | undefined;
  /** Longest answer, in tokens; default 4096. */
  maxTokens?: number;
  /** Per attempt; default 120 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Stream the answer (default true). */
  stream?: boolean;
}

const defaultBaseUrl = 'https://api.anthropic.com';

export class AnthropicDriver implements ModelDriver {
  private readonly client: Anthropic;
  private readonly provider: ProviderInfo;
  private readonly retry: RetryPolicy;
  private readonly maxTokens: number;
  private readonly stream: boolean;

  constructor(options: AnthropicDriverOptions = {}) {
    const baseUrl = options.baseUrl ?? process.env.ANTHROPIC_BASE_URL ?? defaultBaseUrl;
    const apiKey = options.apiKey ?? process.env.ANTHROPIC_API_KEY;
    this.provider = {
      name: 'anthropic',
      baseUrl,
      keyVariable: 'ANTHROPIC_API_KEY',
      urlVariable: 'ANTHROPIC_BASE_URL',
    };
    checkModelCredentials('anthropic', process.env, { apiKey });
    this.client = new Anthropic({
      apiKey,
      baseURL: baseUrl,
      timeout: options.timeoutMs ?? 120_000,
      maxRetries: 0,
      fetch: createProviderFetch(),
    });
    this.retry = options.retry ?? defaultRetryPolicy;
    this.maxTokens = options.maxTokens ?? 4096;
    this.stream = options.stream ?? true;
  }

  complete(request: ModelRequest, options: CallOptions): Promise<ModelResponse> {
    const tools: AnthropicTool[] = request.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema as AnthropicTool['input_schema'],
    }));
    const body: Anthropic.MessageCreateParamsNonStreaming = {
      model: request.model,
      max_tokens: this.maxTokens,
      // The breakpoint after the system prompt caches tools + system: the pinned prefix.
      system: [{ type: 'text', text: request.system || ' ', cache_control: { type: 'ephemeral' } }],
      messages: toAnthropicMessages(request.messages, request.breakpoints ?? [request.messages.length - 1]),
      ...(tools.length === 0 ? {} : { tools }),
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

  private async whole(body: Anthropic.MessageCreateParamsNonStreaming, signal: AbortSignal): Promise<Answer> {
    const { data: message, response } = await this.client.messages.create(body, { signal }).withResponse();
    if (!Array.isArray(message.content)) throw new GarbageResponseError('the message has no content list');
    let content = '';
    const toolCalls: ToolCall[] = [];
    for (const block of message.content) {
      if (block.type === 'text') content += block.text;
      if (block.type === 'tool_use')
        toolCalls.push(toolCallOf(block.id, block.name, JSON.stringify(block.input)));
    }
    return {
      content,
      toolCalls,
      usage: reportedUsageOf(message.usage, message.usage?.output_tokens),
      rateLimits: announcedLimitsOf(response.headers),
    };
  }

  private async streamed(
    body: Anthropic.MessageCreateParamsNonStreaming,
    signal: AbortSignal,
  ): Promise<Answer> {
    const { data: stream, response } = await this.client.messages
      .create({ ...body, stream: true }, { signal })
      .withResponse();
    let content = '';
    const blocks = new Map<number, { id: string; name: string; json: string }>();
    let startUsage: Anthropic.Usage | undefined;
    let outputTokens: number | undefined;
    let stopped = false;
    for await (const event of stream) {
      if (event.type === 'message_start') startUsage = event.message.usage;
      if (event.type === 'content_block_start' && event.content_block.type === 'tool_use') {
        blocks.set(event.index, { id: event.content_block.id, name: event.content_block.name, json: '' });
      }
      if (event.type === 'content_block_delta') {
        if (event.delta.type === 'text_delta') content += event.delta.text;
        if (event.delta.type === 'input_json_delta') {
          const block = blocks.get(event.index);
          if (block !== undefined) block.json += event.delta.partial_json;
        }
      }
      if (event.type === 'message_delta' && typeof event.usage?.output_tokens === 'number')
        outputTokens = event.usage.output_tokens;
      if (event.type === 'message_stop') stopped = true;
    }
    if (!stopped) throw new GarbageResponseError('the stream ended before message_stop');
    const toolCalls = [...blocks.entries()]
      .sort(([left], [right]) => left - right)
      .map(([, block]) => toolCallOf(block.id, block.name, block.json));
    return {
      content,
      toolCalls,
      usage: reportedUsageOf(startUsage, outputTokens),
      rateLimits: announcedLimitsOf(response.headers),
    };
  }
}

/** An answer off the wire; `usage` undefined when the server reported none. */
interface Answer {
  content: string;
  toolCalls: ToolCall[];
  usage: Usage | undefined;
  rateLimits: ModelResponse['rateLimits'];
}

const counter = new TokenCounter();

/** The answer as a response: the provider's usage, or (a compatible server that sent none) aos's own count, marked estimated. */
function withUsage(answer: Answer, request: ModelRequest): ModelResponse {
  const { usage, rateLimits, ...rest } = answer;
  return {
    ...rest,
    usage: usage ?? counter.estimatedUsage(request, answer.content, answer.toolCalls),
    ...(rateLimits === undefined ? {} : { rateLimits }),
  };
}

/** The usage the provider reported, or undefined when it reported no input tokens. */
function reportedUsageOf(
  usage: Anthropic.Usage | undefined,
  outputTokens: number | undefined,
): Usage | undefined {
  if (usage === undefined || usage === null || typeof usage.input_tokens !== 'number') return undefined;
  const counted = usageOf(usage, outputTokens);
  return counted.inputTokens > 0 ? counted : undefined;
}

/**
 * Kernel messages as Anthropic turns: tool results and notices become user content,
 * consecutive turns merge. The last block of each message at `breakpoints` (indices,
 * at most three) is marked as a cache breakpoint.
 */
function toAnthropicMessages(messages: Message[], breakpoints: readonly number[]): MessageParam[] {
  const turns: { role: 'user' | 'assistant'; content: ContentBlockParam[] }[] = [];
  const push = (role: 'user' | 'assistant', block: ContentBlockParam) => {
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(block);
    else turns.push({ role, content: [block] });
    return block;
  };
  const marked = new Set(breakpoints.slice(-3));
  for (const [index, message] of messages.entries()) {
    let lastBlock: ContentBlockParam | undefined;
    if (message.role === 'user' || message.role === 'notice')
      lastBlock = push('user', { type: 'text', text: message.content || ' ' });
    if (message.role === 'tool') {
      lastBlock = push('user', {
        type: 'tool_result',
        tool_use_id: message.toolCallId,
        content: message.content,
        ...(message.isError ? { is_error: true } : {}),
      });
    }
    if (message.role === 'assistant') {
      if (message.content !== '') lastBlock = push('assistant', { type: 'text', text: message.content });
      for (const call of message.toolCalls ?? []) {
        lastBlock = push('assistant', {
          type: 'tool_use',
          id: call.id,
          name: call.name,
          input: call.arguments,
        });
      }
    }
    if (lastBlock !== undefined && marked.has(index)) {
      (lastBlock as { cache_control?: { type: 'ephemeral' } }).cache_control = { type: 'ephemeral' };
    }
  }
  return turns;
}

function usageOf(usage: Anthropic.Usage | undefined, outputTokens: number | undefined): Usage {
  const cacheRead = usage?.cache_read_input_tokens ?? 0;
  const cacheCreation = usage?.cache_creation_input_tokens ?? 0;
  return {
    // Anthropic's input_tokens excludes cache reads and writes; aos counts all input.
    inputTokens: (usage?.input_tokens ?? 0) + cacheRead + cacheCreation,
    outputTokens: outputTokens ?? 0,
    cachedInputTokens: cacheRead,
    cacheCreationInputTokens: cacheCreation,
  };
}
