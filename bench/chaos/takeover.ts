/**
 * Takeover latency: for each process a worker held (running, its lease) when it was
 * SIGKILLed or SIGSTOPped, the time from that instant to the next slice-started of the
 * process by another worker, as the harness saw the events arrive.
 */
import type { ObservedEvent } from './workers.js';

export interface TakeoverStats {
  /** Processes held by a worker at the instant it was killed or stopped. */
  held: number;
  /** Of those, never claimed again by another worker. */
  never: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  maxMs: number | undefined;
  /** The three slowest takeovers: which process, held by which worker, how long. */
  slowest: {
    pid: number;
    worker: number;
    ms: number;
    leaseLeftMs: number | undefined;
    by: number;
    /** Slices the worker that took over was running at the incident (of its concurrency). */
    byBusy: number;
  }[];
}

/** Slices `worker` had started and not ended at `at`, by its events. */
function busyAt(events: ObservedEvent[], worker: number, at: number): number {
  const running = new Set<number>();
  for (const event of events) {
    if (event.at > at) break;
    if (event.worker !== worker || event.pid === undefined) continue;
    if (event.type === 'slice-started') running.add(event.pid);
    if (event.type === 'slice-ended') running.delete(event.pid);
  }
  return running.size;
}

function percentile(sorted: number[], fraction: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

/** Latencies from each incident (a worker's OS pid, an instant, the pids it held) to the takeovers. */
export function takeovers(
  events: ObservedEvent[],
  incidents: { worker: number; at: number; held: number[] }[],
  leaseLeft: Map<number, number> = new Map(),
): TakeoverStats {
  const latencies: number[] = [];
  const each: TakeoverStats['slowest'] = [];
  let held = 0;
  let never = 0;
  for (const incident of incidents) {
    for (const pid of incident.held) {
      held += 1;
      const next = events.find(
        (event) =>
          event.type === 'slice-started' &&
          event.pid === pid &&
          event.worker !== incident.worker &&
          event.at >= incident.at,
      );
      if (next === undefined) never += 1;
      else {
        latencies.push(next.at - incident.at);
        each.push({
          pid,
          worker: incident.worker,
          ms: next.at - incident.at,
          leaseLeftMs: leaseLeft.get(pid),
          by: next.worker,
          byBusy: busyAt(events, next.worker, incident.at),
        });
      }
    }
  }
  const sorted = latencies.sort((a, b) => a - b);
  return {
    held,
    never,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    maxMs: sorted.at(-1),
    slowest: each.sort((a, b) => b.ms - a.ms).slice(0, 3),
  };
}
