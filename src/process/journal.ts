/**
 * The journal: one row per step in aos.steps, each written in one round trip by a
 * SQL function that also checks the writer's lease (fencing), extends it, and
 * returns the signals waiting for the process.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { Message, Usage } from '../cpu/model.js';
import type { Queryable } from '../storage/db.js';
import { LeaseLostError } from '../storage/postgres-errors.js';

/** What a worker holds while it runs a process; every write is checked against it. */
export interface Lease {
  pid: number;
  generation: number;
  leaseMs: number;
}

export type StepKind = 'spawn' | 'model' | 'tool' | 'step' | 'signal' | 'notice' | 'exit';
export type StepStatus = 'started' | 'done' | 'failed' | 'unknown-outcome' | 'cancelled';

/**
 * One step to write. `countsAsStep` adds one to the process's step usage (model and tool
 * steps do); `extraSteps` adds steps journaled earlier without updating the process row.
 */
export interface StepRecord {
  kind: StepKind;
  status: StepStatus;
  name?: string;
  callId?: string;
  input?: unknown;
  output?: unknown;
  messages?: Message[];
  usage?: Usage;
  countsAsStep?: boolean;
  extraSteps?: number;
  handledSignals?: string[];
  /** Cost of the step in nano-dollars (model steps). */
  costNanos?: number;
  /** An audit entry to append in the same statement (kind, and data as JSON). */
  audit?: { kind: string; data: unknown };
  /** When the work of a step journaled once it is done began (model calls, idempotent tools); default now. */
  startedAt?: Date;
  /**
   * The operation's position in its program (1 for the first), for operations; for a
   * signal, the operation at whose start it was delivered. Replay matches on it.
   */
  op?: number;
}

/** What the database says after a write. */
export interface StepWritten {
  seq: number;
  pendingSignals: string[];
}

/** A journal row as read back. */
export interface JournalStep {
  seq: number;
  kind: StepKind;
  name: string | null;
  callId: string | null;
  status: StepStatus;
  input: unknown;
  output: unknown;
  messages: Message[];
  usage: Usage | null;
  generation: number;
  startedAt: string;
  finishedAt: string | null;
  /** Position in the program (operations), or the operation a signal was delivered before. */
  op: number | null;
  /** The order it finished in: its own seq, or a later one when it was journaled as started first. */
  finishedSeq: number;
}

interface WriteRow {
  seq: number;
  pending_signals: string[];
}

/** Appends step `seq`, fenced by the lease; throws LeaseLostError when the lease is gone. */
export async function appendStep(
  db: Queryable,
  lease: Lease,
  seq: number,
  step: StepRecord,
): Promise<StepWritten> {
  const result = await db.query<WriteRow>(
    'select * from aos.append_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)',
    [
      lease.pid,
      lease.generation,
      lease.leaseMs,
      step.kind,
      step.name ?? null,
      step.callId ?? null,
      step.status,
      json(step.input),
      json(step.output),
      JSON.stringify(step.messages ?? []),
      json(step.usage),
      (step.countsAsStep ? 1 : 0) + (step.extraSteps ?? 0),
      tokensOf(step.usage),
      step.handledSignals ?? null,
      step.usage?.cachedInputTokens ?? 0,
      step.costNanos ?? 0,
      step.audit?.kind ?? null,
      auditData(step.audit, seq),
      step.startedAt ?? null,
      step.op ?? null,
      seq,
    ],
    { prepare: 'aos_append_step' },
  );
  const row = result.rows[0]!;
  return { seq: row.seq, pendingSignals: row.pending_signals };
}

/** Completes a step journaled as `started`, fenced by the lease; the seq returned is that of its finish. */
export async function finishStep(
  db: Queryable,
  lease: Lease,
  seq: number,
  finishedSeq: number,
  step: Pick<
    StepRecord,
    'status' | 'output' | 'messages' | 'usage' | 'countsAsStep' | 'extraSteps' | 'audit'
  >,
): Promise<StepWritten> {
  const result = await db.query<WriteRow>(
    'select * from aos.finish_step($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
    [
      lease.pid,
      lease.generation,
      lease.leaseMs,
      seq,
      step.status,
      json(step.output),
      JSON.stringify(step.messages ?? []),
      json(step.usage),
      (step.countsAsStep ? 1 : 0) + (step.extraSteps ?? 0),
      tokensOf(step.usage),
      step.audit?.kind ?? null,
      auditData(step.audit, seq),
      finishedSeq,
    ],
    { prepare: 'aos_finish_step' },
  );
  const row = result.rows[0]!;
  return { seq: row.seq, pendingSignals: row.pending_signals };
}

/**
 * Appends a program step (ctx.step, ctx.now, ctx.random) with one INSERT, fenced by
 * reading the lease rather than updating the process row, so a step costs about what a
 * plain INSERT does. Its step count reaches the process row with the next other write;
 * signals reach the program by NOTIFY and heartbeat. Throws LeaseLostError when the lease is gone.
 */
export async function appendProgramStep(
  db: Queryable,
  lease: Lease,
  seq: number,
  step: { name: string; status: StepStatus; output: unknown; op: number; startedAt: Date },
): Promise<void> {
  const result = await db.query(
    `insert into aos.steps (pid, seq, kind, name, status, output, generation, started_at, finished_at, op)
     select p.pid, $2, 'step', $3, $4, $5, p.lease_generation, least($6, now()), now(), $7
       from aos.processes p
      where p.pid = $1 and p.lease_generation = $8 and p.state = 'running' and p.lease_expires_at > now()`,
    [
      lease.pid,
      seq,
      step.name,
      step.status,
      JSON.stringify(step.output),
      step.startedAt,
      step.op,
      lease.generation,
    ],
    { prepare: 'aos_append_program_step' },
  );
  if (result.rowCount === 0) {
    throw new LeaseLostError(`lease on process ${lease.pid} (generation ${lease.generation}) is lost`);
  }
}

/** The number after a process's last journal row (for writers that hold no lease to count with). */
export async function nextSeqOf(db: Queryable, pid: number): Promise<number> {
  const result = await db.query<{ seq: number }>(
    'select coalesce(max(seq), 0) + 1 as seq from aos.steps where pid = $1',
    [pid],
  );
  return result.rows[0]!.seq;
}

interface StepRow {
  seq: number;
  kind: StepKind;
  name: string | null;
  call_id: string | null;
  status: StepStatus;
  input: unknown;
  output: unknown;
  messages: Message[];
  usage: Usage | null;
  generation: number;
  started_at: Date;
  finished_at: Date | null;
  op: number | null;
  finished_seq: number | null;
}

/** The journal of a process in order: all of it, or the steps after `afterSeq`. */
export async function loadJournal(db: Queryable, pid: number, afterSeq = 0): Promise<JournalStep[]> {
  const result = await db.query<StepRow>('select * from aos.steps where pid = $1 and seq > $2 order by seq', [
    pid,
    afterSeq,
  ]);
  return result.rows.map((row) => ({
    seq: row.seq,
    kind: row.kind,
    name: row.name,
    callId: row.call_id,
    status: row.status,
    input: row.input,
    output: row.output,
    messages: row.messages,
    usage: row.usage,
    generation: row.generation,
    startedAt: new Date(row.started_at).toISOString(),
    finishedAt: row.finished_at === null ? null : new Date(row.finished_at).toISOString(),
    op: row.op,
    finishedSeq: row.finished_seq ?? row.seq,
  }));
}

/**
 * The audit entry's data with the journal row it describes (`seq`), so that `aos audit
 * verify` can recompute the digests it holds from that row.
 */
function auditData(audit: StepRecord['audit'], seq: number): string | null {
  if (audit === undefined) return null;
  const data = audit.data;
  const isRecord = data !== null && typeof data === 'object' && !Array.isArray(data);
  return canonicalJson(isRecord ? { ...data, seq } : data);
}

function json(value: unknown): string | null {
  return value === undefined ? null : JSON.stringify(value);
}

function tokensOf(usage: Usage | undefined): number {
  return usage === undefined ? 0 : usage.inputTokens + usage.outputTokens;
}

/** The sha256 of a value's canonical JSON, hex: how the audit log refers to journal contents. */
export function digestOf(value: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(value ?? null))
    .digest('hex');
}
