/**
 * What bench/step-overhead/peers.ts reports: per contender and result size, the median time
 * at each N, the least-squares line time = a + b·N through those medians, counters per step
 * ((value at the largest N − value at N = 0) / largest N), ratios of b, and a Markdown table.
 */

/** Counters of one measured workflow, read around it. */
export interface RunCounters {
  connections: number;
  roundTrips: number;
  statements: number;
  commits: number;
  walCommitRecords: number | null;
  walBytes: number | null;
  walFullPageBytes: number | null;
  lsnBytes: number;
}

/** Everything measured for one contender at one result size. */
export interface Series {
  contender: string;
  size: number;
  /** Milliseconds of each repeat, by N. */
  times: Map<number, number[]>;
  /** Counters of the counting run, by N (the smallest and the largest N). */
  counters: Map<number, RunCounters>;
  skipped?: string;
}

/** A contender's summary at one size. */
export interface SeriesSummary {
  contender: string;
  size: number;
  skipped?: string;
  medianMs: Record<string, number>;
  /** The fastest and the slowest repeat, by N. */
  rangeMs: Record<string, [number, number]>;
  /** time ≈ a + b·N, in ms; r2 is the fit's coefficient of determination. */
  fit: { a: number; b: number; r2: number } | null;
  perStep: Partial<Record<keyof RunCounters, number | null>>;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The least-squares line y = a + b·x through `points`; null with fewer than two distinct x. */
export function fitLine(points: Array<[number, number]>): { a: number; b: number; r2: number } | null {
  const count = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / count;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / count;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
    syy += (y - meanY) ** 2;
  }
  if (count < 2 || sxx === 0) return null;
  const b = sxy / sxx;
  const a = meanY - b * meanX;
  const residual = points.reduce((sum, [x, y]) => sum + (y - (a + b * x)) ** 2, 0);
  return { a, b, r2: syy === 0 ? 1 : 1 - residual / syy };
}

/** Summarizes a series: medians, the fit, and counters per step. */
export function summarize(series: Series): SeriesSummary {
  const medianMs: Record<string, number> = {};
  const rangeMs: Record<string, [number, number]> = {};
  const points: Array<[number, number]> = [];
  for (const [n, times] of [...series.times].sort(([left], [right]) => left - right)) {
    if (times.length === 0) continue;
    medianMs[n] = median(times);
    rangeMs[n] = [Math.min(...times), Math.max(...times)];
    points.push([n, medianMs[n]!]);
  }
  const perStep: SeriesSummary['perStep'] = {};
  const measured = [...series.counters.keys()].sort((left, right) => left - right);
  const low = measured[0];
  const high = measured[measured.length - 1];
  if (low !== undefined && high !== undefined && high > low) {
    const from = series.counters.get(low)!;
    const to = series.counters.get(high)!;
    for (const key of Object.keys(to) as Array<keyof RunCounters>) {
      const start = from[key];
      const end = to[key];
      perStep[key] = start === null || end === null ? null : (end - start) / (high - low);
    }
  }
  return {
    contender: series.contender,
    size: series.size,
    ...(series.skipped === undefined ? {} : { skipped: series.skipped }),
    medianMs,
    rangeMs,
    fit: fitLine(points),
    perStep,
  };
}

const round = (value: number | null | undefined, digits: number): string =>
  value === null || value === undefined ? '–' : value.toFixed(digits);

/** b of `contender` at `size`, if it was measured. */
export function slopeOf(summaries: SeriesSummary[], contender: string, size: number): number | undefined {
  return summaries.find((entry) => entry.contender === contender && entry.size === size)?.fit?.b;
}

/** A Markdown table per result size: the fit, ratios of b, and counters per step. */
export function markdownTables(summaries: SeriesSummary[]): string {
  const sizes = [...new Set(summaries.map((entry) => entry.size))].sort((left, right) => left - right);
  const lines: string[] = [];
  for (const size of sizes) {
    const floor = slopeOf(summaries, 'floor', size);
    const aos = slopeOf(summaries, 'aos', size);
    lines.push(
      `Results of ${size} bytes:`,
      '',
      '| contender | a (ms) | b (ms per step) | b ÷ floor | b ÷ aos | round trips | statements | commits | WAL commit records | WAL bytes (of which full pages) |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const entry of summaries.filter((summary) => summary.size === size)) {
      if (entry.skipped !== undefined || entry.fit === null) {
        lines.push(`| ${entry.contender} | pending: ${entry.skipped ?? 'not measured'} | | | | | | | | |`);
        continue;
      }
      const { a, b } = entry.fit;
      const counters = entry.perStep;
      lines.push(
        `| ${entry.contender} | ${round(a, 2)} | ${round(b, 4)} | ${floor ? `${round(b / floor, 2)}×` : '–'} | ${aos ? `${round(b / aos, 2)}×` : '–'} | ${round(counters.roundTrips, 2)} | ${round(counters.statements, 2)} | ${round(counters.commits, 2)} | ${round(counters.walCommitRecords, 2)} | ${round(counters.walBytes, 0)} (${round(counters.walFullPageBytes, 0)}) |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}
