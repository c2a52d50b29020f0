/**
 * How much context an agent may use: the model's window, the watermarks at which the
 * memory manager pages the oldest part of the working set out (high) and down to which
 * it does (low), the size over which a tool result is offloaded to a file at once, and
 * what is reserved for the answer. From the agent file's `context:` field, else from
 * the model's known window.
 */
import { AosError } from '../errors.js';

/** The agent file's `context:` field, as written. */
export interface ContextFields {
  window?: number | string;
  high_watermark?: number;
  low_watermark?: number;
  offload_over?: number | string;
  reserve?: number | string;
  prefetch?: boolean;
}

/** The settings in force, in tokens. */
export interface ContextSettings {
  window: number;
  /** Page out when the request would pass this many tokens (high watermark). */
  high: number;
  /** Page out down to this many (low watermark). */
  low: number;
  /** A tool result over this many tokens is offloaded to a file and replaced by a stub. */
  offloadOver: number;
  /** Kept free for the answer and for the error of the estimate. */
  reserve: number;
  /** Put the pages that best match the latest observation in the tail. */
  prefetch: boolean;
}

/** Windows of model families, longest match first; unknown models get the last. */
const knownWindows: [RegExp, number][] = [
  [/^anthropic:claude/, 200_000],
  [/^openai:gpt-4\.1/, 1_000_000],
  [/^openai:gpt-5/, 400_000],
  [/^openai:(gpt-4o|o1|o3|o4)/, 128_000],
  [/^openai:gpt-4-turbo/, 128_000],
  [/^openai:gpt-3\.5/, 16_000],
  [/./, 128_000],
];

/** A token count as written: 16000, "16k", "1M". */
export function parseTokens(value: number | string, field: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value > 0) return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$/.exec(String(value));
  if (match === null) {
    throw new AosError('invalid_input', `${field}: "${value}" is not a number of tokens`, {
      hint: 'write a whole number of tokens, or one with k or M (e.g. 16k)',
    });
  }
  const unit = match[2]?.toLowerCase() === 'k' ? 1000 : match[2]?.toLowerCase() === 'm' ? 1_000_000 : 1;
  return Math.round(Number(match[1]) * unit);
}

/** The settings for an agent running `model`; `where` names the field in errors. */
export function contextSettings(
  fields: ContextFields | undefined,
  model: string,
  where = 'context',
): ContextSettings {
  const window =
    fields?.window === undefined
      ? knownWindows.find(([pattern]) => pattern.test(model))![1]
      : parseTokens(fields.window, `${where}.window`);
  const highShare = fields?.high_watermark ?? 0.8;
  const lowShare = fields?.low_watermark ?? 0.5;
  if (!(lowShare > 0 && lowShare < highShare && highShare <= 1)) {
    throw new AosError(
      'invalid_input',
      `${where}: the watermarks must satisfy 0 < low < high <= 1 (low ${lowShare}, high ${highShare})`,
      {
        hint: 'e.g. high_watermark: 0.8, low_watermark: 0.5',
      },
    );
  }
  const reserve =
    fields?.reserve === undefined
      ? Math.min(4096, Math.round(window * 0.1))
      : parseTokens(fields.reserve, `${where}.reserve`);
  const offloadOver =
    fields?.offload_over === undefined
      ? Math.max(256, Math.round(window * 0.125))
      : parseTokens(fields.offload_over, `${where}.offload_over`);
  return {
    window,
    high: Math.floor(window * highShare),
    low: Math.floor(window * lowShare),
    offloadOver,
    reserve,
    prefetch: fields?.prefetch ?? true,
  };
}
