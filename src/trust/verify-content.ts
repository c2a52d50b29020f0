/**
 * Checks the data the audit chain describes against the digests the chain vouches for:
 * journal rows (model outputs, tool arguments and results), spawn inputs, and exit
 * results and errors. A chain that verifies says nothing about a journal rewritten in
 * SQL; this does.
 */
import { createHash } from 'node:crypto';
import { digestOf } from '../process/journal.js';
import type { Queryable } from '../storage/db.js';

/** The first entry whose digest no longer matches the data it describes. */
export interface ContentMismatch {
  /** The audit entry's id. */
  id: number;
  pid: number | null;
  /** What differs, for a person. */
  what: string;
}

/** What the content check covered. */
export interface ContentCheck {
  /** Audit entries whose digests were recomputed. */
  checked: number;
  mismatches: ContentMismatch[];
}

interface EntryRow {
  id: number;
  kind: string;
  pid: number | null;
  data: string;
}

interface StepRow {
  pid: number;
  seq: number;
  input: unknown;
  output: unknown;
}

interface ProcessRow {
  pid: number;
  input: string;
  result_text: string;
  error_text: string;
}

const kinds = ['model-call', 'tool-call', 'tool-call-started', 'spawn', 'exit'];

/**
 * Recomputes the digests of chained entries (of process `pid`, or all) from the rows
 * they describe, in id order; stops after `limit` mismatches (default 1).
 */
export async function verifyContent(
  db: Queryable,
  options: { pid?: number; limit?: number; batchSize?: number } = {},
): Promise<ContentCheck> {
  const limit = options.limit ?? 1;
  const batchSize = options.batchSize ?? 5_000;
  const mismatches: ContentMismatch[] = [];
  let checked = 0;
  let afterId = 0;
  for (;;) {
    const batch = await db.query<EntryRow>(
      `select id, kind, pid, data from aos.audit
        where id > $1 and kind = any($2) and pid is not null and ($3::bigint is null or pid = $3)
        order by id limit $4`,
      [afterId, kinds, options.pid ?? null, batchSize],
    );
    if (batch.rows.length === 0) break;
    afterId = batch.rows[batch.rows.length - 1]!.id;
    const entries = batch.rows.map((row) => ({ ...row, data: parse(row.data) }));
    const steps = await stepsOf(db, entries);
    const processes = await processesOf(db, entries);
    for (const entry of entries) {
      const found = compare(entry, steps, processes);
      if (found === 'skipped') continue;
      checked += 1;
      if (found !== undefined) {
        mismatches.push({ id: entry.id, pid: entry.pid, what: found });
        if (mismatches.length >= limit) return { checked, mismatches };
      }
    }
    if (batch.rows.length < batchSize) break;
  }
  return { checked, mismatches };
}

type Entry = Omit<EntryRow, 'data'> & { data: Record<string, unknown> | null };

function parse(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** One entry: a reason when the data differs, undefined when it matches, 'skipped' when it names no digest to check. */
function compare(
  entry: Entry,
  steps: Map<string, StepRow>,
  processes: Map<number, ProcessRow>,
): string | undefined | 'skipped' {
  const data = entry.data;
  const pid = entry.pid!;
  if (data === null) return 'skipped';
  if (entry.kind === 'spawn' || entry.kind === 'exit') {
    const process = processes.get(pid);
    const wanted: [string, string, string | undefined][] =
      entry.kind === 'spawn'
        ? [['input_sha256', 'its input', process?.input]]
        : [
            ['result_sha256', 'its result', process?.result_text],
            ['error_sha256', 'its error', process?.error_text],
          ];
    if (!wanted.some(([field]) => typeof data[field] === 'string')) return 'skipped';
    if (process === undefined) return `process ${pid} is gone from the process table`;
    for (const [field, what, text] of wanted) {
      if (typeof data[field] !== 'string') continue;
      if (sha256(text ?? '') !== data[field]) {
        return `${what} (process ${pid}) differs from the digest in the ${entry.kind} entry`;
      }
    }
    return undefined;
  }
  if (typeof data.seq !== 'number') return 'skipped';
  const step = steps.get(`${pid}:${data.seq}`);
  const where = `the journal row ${data.seq} of process ${pid}`;
  const checks: [string, string, unknown][] =
    entry.kind === 'model-call'
      ? [['output_sha256', 'model output', step?.output]]
      : [
          ['arguments_sha256', 'tool arguments', step?.input],
          ...(entry.kind === 'tool-call'
            ? ([['result_sha256', 'tool result', step?.output]] as [string, string, unknown][])
            : []),
        ];
  if (!checks.some(([field]) => typeof data[field] === 'string')) return 'skipped';
  if (step === undefined) return `${where} (${entry.kind}) is missing`;
  for (const [field, what, value] of checks) {
    if (typeof data[field] !== 'string') continue;
    if (digestOf(value) !== data[field]) {
      return `the ${what} in ${where} differ from the digest in the ${entry.kind} entry`;
    }
  }
  return undefined;
}

async function stepsOf(db: Queryable, entries: Entry[]): Promise<Map<string, StepRow>> {
  const wanted = entries.filter((entry) => typeof entry.data?.seq === 'number');
  if (wanted.length === 0) return new Map();
  const result = await db.query<StepRow>(
    `select s.pid, s.seq, s.input, s.output
       from aos.steps s join unnest($1::bigint[], $2::int[]) as w (pid, seq) on s.pid = w.pid and s.seq = w.seq`,
    [wanted.map((entry) => entry.pid), wanted.map((entry) => entry.data!.seq)],
  );
  return new Map(result.rows.map((row) => [`${Number(row.pid)}:${row.seq}`, row]));
}

async function processesOf(db: Queryable, entries: Entry[]): Promise<Map<number, ProcessRow>> {
  const pids = [
    ...new Set(
      entries.filter((entry) => entry.kind === 'spawn' || entry.kind === 'exit').map((entry) => entry.pid),
    ),
  ];
  if (pids.length === 0) return new Map();
  // The texts exactly as aos.spawn_process and aos.exit_process hashed them.
  const result = await db.query<ProcessRow>(
    `select pid, input, coalesce(result::text, '') as result_text, coalesce(error::text, '') as error_text
       from aos.processes where pid = any($1::bigint[])`,
    [pids],
  );
  return new Map(result.rows.map((row) => [Number(row.pid), row]));
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
