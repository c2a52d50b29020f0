/**
 * Token counts before a request is sent (to ration tokens per minute): a real BPE
 * tokenizer (gpt-tokenizer, o200k), calibrated per model by what providers report,
 * since every model family tokenizes a little differently.
 */
import { countTokens } from 'gpt-tokenizer';
import type { ModelRequest, ToolCall, Usage } from './model.js';

// Each message carries a few tokens of framing (role, separators) on every provider.
const tokensPerMessage = 4;
// Agents read untrusted text: a special token in it is text to count, not an error.
const plainText = { disallowedSpecial: new Set<string>() };

export class TokenCounter {
  private readonly ratios = new Map<string, number>();

  /** Tokens in a text; special tokens such as <|endoftext|> in it count as plain text. */
  count(text: string): number {
    return countTokens(text, plainText);
  }

  /** Uncalibrated tokens of a whole request: system prompt, tools, messages. */
  countRequest(request: ModelRequest): number {
    let total = this.count(request.system) + tokensPerMessage;
    if (request.tools.length > 0) total += this.count(JSON.stringify(request.tools));
    for (const message of request.messages) {
      total += tokensPerMessage + this.count(message.content);
      if (message.role === 'assistant' && message.toolCalls !== undefined) {
        total += this.count(JSON.stringify(message.toolCalls));
      }
    }
    return total;
  }

  /** The usage of a call whose provider reported none: counted here, marked estimated. */
  estimatedUsage(request: ModelRequest, content: string, toolCalls: readonly ToolCall[]): Usage {
    const output = this.count(content) + (toolCalls.length === 0 ? 0 : this.count(JSON.stringify(toolCalls)));
    return { inputTokens: this.countRequest(request), outputTokens: Math.max(1, output), estimated: true };
  }

  /** The request's input tokens as `model`'s provider is expected to count them. */
  estimate(model: string, request: ModelRequest): number {
    return Math.ceil(this.countRequest(request) * (this.ratios.get(model) ?? 1));
  }

  /** Learns from a provider's reported input tokens for a request we counted as `counted`. */
  calibrate(model: string, counted: number, reported: number): void {
    if (counted <= 0 || reported <= 0) return;
    const observed = Math.min(4, Math.max(0.25, reported / counted));
    const previous = this.ratios.get(model);
    this.ratios.set(model, previous === undefined ? observed : previous * 0.7 + observed * 0.3);
  }
}
