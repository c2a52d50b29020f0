/** Durations as users write them: a number of milliseconds, or "500ms", "30s", "10m", "2h", "7d". */
import { AosError } from './errors.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in `value`; `field` names it in the error. */
export function parseDuration(value: number | string, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(String(value));
  if (match === null) {
    throw new AosError('invalid_input', `${field}: "${value}" is not a duration`, {
      hint: 'write a number of milliseconds, or a number with ms, s, m, h or d (e.g. 30s)',
    });
  }
  return Math.round(Number(match[1]) * (units[match[2] ?? 'ms'] ?? 1));
}
