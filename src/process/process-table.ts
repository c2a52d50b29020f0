/**
 * The process table: the row type of aos.processes, the Process domain object the
 * APIs return, the one mapping between them, and the queries that read them.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';

export type ProcessState = 'ready' | 'running' | 'waiting' | 'sleeping' | 'stopped' | 'exited';

/** A row of aos.processes. */
export interface ProcessRow {
  pid: number;
  ppid: number | null;
  owner: string;
  agent_name: string;
  agent_version: number;
  input: string;
  state: ProcessState;
  wait_reason: string | null;
  wait_detail: Record<string, unknown> | null;
  wake_at: Date | null;
  priority: number;
  vruntime: number;
  limits: Record<string, unknown>;
  steps_used: number;
  tokens_used: number;
  cached_tokens: number;
  cost_nanos: number;
  model: string | null;
  device: string | null;
  wake_seq: number;
  /** The last journal seq; only in rows returned by a claim. */
  last_seq?: number;
  pending_signals: string[];
  term_deadline_step: number | null;
  term_deadline_at: Date | null;
  exit_status: number | null;
  result: unknown;
  error: { code: string; message: string } | null;
  lease_owner: string | null;
  lease_generation: number;
  lease_expires_at: Date | null;
  created_at: Date;
  started_at: Date | null;
  exited_at: Date | null;
  reaped_at: Date | null;
}

/** A process as the APIs (library, CLI --json, HTTP) present it. */
export interface Process {
  pid: number;
  ppid: number | null;
  owner: string;
  agent: string;
  agentVersion: number;
  state: ProcessState;
  waitReason: string | null;
  priority: number;
  steps: number;
  tokens: number;
  cachedTokens: number;
  /** USD. */
  cost: number;
  /** The model this process runs, when it overrides its agent's. */
  model: string | null;
  exitStatus: number | null;
  result: unknown;
  error: { code: string; message: string } | null;
  worker: string | null;
  createdAt: string;
  startedAt: string | null;
  exitedAt: string | null;
}

/** The one mapping from a row to a Process. */
export function toProcess(row: ProcessRow): Process {
  return {
    pid: row.pid,
    ppid: row.ppid,
    owner: row.owner,
    agent: row.agent_name,
    agentVersion: row.agent_version,
    state: row.state,
    waitReason: row.wait_reason,
    priority: row.priority,
    steps: row.steps_used,
    tokens: row.tokens_used,
    cachedTokens: row.cached_tokens,
    cost: row.cost_nanos / 1e9,
    model: row.model,
    exitStatus: row.exit_status,
    result: row.result ?? null,
    error: row.error,
    worker: row.state === 'running' ? row.lease_owner : null,
    createdAt: iso(row.created_at)!,
    startedAt: iso(row.started_at),
    exitedAt: iso(row.exited_at),
  };
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}

/** The process with this pid; `not_found` when there is none. */
export async function getProcessRow(db: Queryable, pid: number): Promise<ProcessRow> {
  const result = await db.query<ProcessRow>('select * from aos.processes where pid = $1', [pid]);
  const row = result.rows[0];
  if (row === undefined) throw noSuchProcess(pid);
  return row;
}

/** Reaps an exited process (`wait` collected it): `ps` hides it from then on. The one copy, for the wait syscall and the wait tool. */
export async function reapProcess(db: Queryable, pid: number): Promise<void> {
  await db.query('update aos.processes set reaped_at = coalesce(reaped_at, now()) where pid = $1', [pid]);
}

/** The error for an unknown pid. */
export function noSuchProcess(pid: number): AosError {
  return new AosError('not_found', `no process with pid ${pid}`, {
    hint: 'list processes with: aos ps --all',
  });
}

export interface ListOptions {
  /** Include reaped processes. */
  all?: boolean;
  /** Only children of this pid. */
  ppid?: number;
  /** Only processes in these states. */
  states?: ProcessState[];
}

/** Processes in pid order; reaped ones only with `all`. */
export async function listProcessRows(db: Queryable, options: ListOptions = {}): Promise<ProcessRow[]> {
  const result = await db.query<ProcessRow>(
    `select * from aos.processes
      where ($1 or reaped_at is null)
        and ($2::bigint is null or ppid = $2)
        and ($3::text[] is null or state = any($3))
      order by pid`,
    [options.all ?? false, options.ppid ?? null, options.states ?? null],
  );
  return result.rows;
}
