/**
 * The CPU interface: what the kernel sends a model and what it gets back. Every
 * driver (scripted, OpenAI-compatible, Anthropic) implements `ModelDriver`.
 */
import type { AosError } from '../errors.js';

/** A tool call requested by the model. */
export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
  /** The raw arguments when the model sent text that is not a JSON object; the call fails with an error result. */
  invalidArguments?: string;
}

/** One item of a process's context. `notice` items are the kernel speaking (signals, recovery). */
export type Message =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[]; meta?: Record<string, unknown> }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean }
  | { role: 'notice'; content: string };

/** A tool as the model sees it. */
export interface ToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** Token counts of one model call. */
export interface Usage {
  /** The provider reported no usage: aos counted the tokens itself. */
  estimated?: boolean;
  /** All input tokens, cached ones included. */
  inputTokens: number;
  outputTokens: number;
  /** Input tokens the provider read from its prompt cache. */
  cachedInputTokens?: number;
  /** Input tokens the provider wrote to its prompt cache (Anthropic). */
  cacheCreationInputTokens?: number;
}

export interface ModelRequest {
  /** The model string without its driver prefix. */
  model: string;
  system: string;
  messages: Message[];
  tools: ToolSpec[];
  /**
   * Where the stable part of the context ends: indices of messages after which a
   * provider that caches at explicit breakpoints (Anthropic) should put one, at most
   * three. The system prompt and tools always end one. Default: after the last message.
   */
  breakpoints?: number[];
}

export interface ModelResponse {
  content: string;
  toolCalls: ToolCall[];
  usage: Usage;
  /** Driver facts to journal with the response (the scripted CPU's turn number). */
  meta?: Record<string, unknown>;
  /** The per-minute limits the provider announced in its headers, if any. */
  rateLimits?: { requestsPerMinute?: number; tokensPerMinute?: number };
}

/**
 * Sees a retryable failure of an attempt and the wait planned before the next one; returns
 * the wait to use, or throws to stop retrying (the kernel parks the process instead).
 */
export type RetryGate = (error: AosError, plannedDelayMs: number) => Promise<number>;

/** How a call is made: `signal` aborts it (and any wait between retries); `gate` sees each retry. */
export interface CallOptions {
  signal: AbortSignal;
  gate?: RetryGate;
}

/** A model endpoint. `complete` must reject when `signal` aborts. */
export interface ModelDriver {
  complete(request: ModelRequest, options: CallOptions): Promise<ModelResponse>;
}

/** A rough token estimate (4 characters a token) until a real tokenizer is wired in. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
