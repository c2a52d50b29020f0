/**
 * Limits of a process tree: a child's use (steps, tokens, cost) is charged to each of its
 * ancestors, and an ancestor's wall time bounds its descendants, so the limits a root
 * runs under (aos run --max-cost) bound everything it spawns. Checked at every step
 * boundary by reading the tree's usage (aos.tree_usage); nothing is locked, so the check
 * cannot deadlock with the journal writes of the tree's other processes.
 */
import { parseDuration } from '../duration.js';
import type { Queryable } from '../storage/db.js';
import type { Limits } from './agent-definition.js';
import { formatUsd } from './budgets.js';

/** The caller's own counters, which run ahead of its row during a slice. */
export interface OwnUsage {
  steps: number;
  tokens: number;
  costNanos: number;
}

/**
 * Why the tree of `process` (its ancestors' limits, and its own over its descendants)
 * must stop it, or undefined. A process with no parent is checked here only when it has
 * children and limits of its own (no query otherwise: its own limits are checked from its
 * counters).
 */
export async function treeLimitReached(
  db: Queryable,
  process: { pid: number; ppid: number | null; limits: unknown },
  definitionLimits: Limits,
  own: OwnUsage,
  hasChildren: () => Promise<boolean>,
): Promise<string | undefined> {
  const ownLimits = { ...definitionLimits, ...(process.limits as Limits) };
  if (process.ppid === null && (Object.keys(ownLimits).length === 0 || !(await hasChildren()))) {
    return undefined;
  }
  const result = await db.query<{
    pid: number;
    limits: Limits;
    started_at: Date;
    steps: string | number;
    tokens: string | number;
    cost_nanos: string | number;
  }>('select * from aos.tree_usage($1, $2, $3, $4)', [process.pid, own.steps, own.tokens, own.costNanos]);
  for (const row of result.rows) {
    const reason = limitReachedBy(row.limits, {
      steps: Number(row.steps),
      tokens: Number(row.tokens),
      costNanos: Number(row.cost_nanos),
      elapsedMs: Date.now() - new Date(row.started_at).getTime(),
    });
    if (reason === undefined) continue;
    const whose = Number(row.pid) === process.pid ? 'this process' : `ancestor process ${row.pid}`;
    return `${reason} by ${whose} and its descendants`;
  }
  return undefined;
}

/** Which of `limits` the usage `used` has reached (steps, tokens, cost, wall time), or undefined. */
export function limitReachedBy(
  limits: Limits,
  used: { steps: number; tokens: number; costNanos: number; elapsedMs: number },
): string | undefined {
  if (limits.max_steps !== undefined && used.steps >= limits.max_steps) {
    return `step limit reached: ${used.steps} of ${limits.max_steps} steps used`;
  }
  if (limits.max_tokens !== undefined && used.tokens >= limits.max_tokens) {
    return `token limit reached: ${used.tokens} of ${limits.max_tokens} tokens used`;
  }
  if (limits.max_cost !== undefined && used.costNanos >= Math.round(limits.max_cost * 1e9)) {
    return `cost limit reached: $${formatUsd(used.costNanos)} of $${limits.max_cost} spent`;
  }
  if (limits.max_wall_time !== undefined) {
    const allowed = parseDuration(limits.max_wall_time, 'limits.max_wall_time');
    if (used.elapsedMs >= allowed) {
      return `wall time limit reached: ${used.elapsedMs} ms of ${allowed} ms used`;
    }
  }
  return undefined;
}

/** Whether process `pid` has ever had a child. */
export async function hasChildren(db: Queryable, pid: number): Promise<boolean> {
  const result = await db.query('select 1 from aos.processes where ppid = $1 limit 1', [pid]);
  return result.rowCount > 0;
}
