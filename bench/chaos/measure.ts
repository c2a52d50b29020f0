/**
 * The correctness counts of bench/chaos, read from the journal (aos.steps), the process
 * table and the side table chaos_effects once the run is over. Each function is one
 * question, answered by one query where it can be.
 */
import type pg from 'pg';
import { agentMessages, agentResult, collectorResult, expectedProgramResult } from './spec.js';

export interface LostProcess {
  pid: number;
  agent: string;
  kind: 'failed' | 'diverged' | 'stuck' | 'wrong-result';
  detail: string;
}

interface ProcessRow {
  pid: number;
  agent_name: string;
  input: string;
  state: string;
  wait_reason: string | null;
  wait_detail: { message?: string } | null;
  exit_status: number | null;
  result: unknown;
  error: { code?: string; message?: string } | null;
}

/** JSON with sorted keys, to compare results whatever order jsonb gave the keys. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Every process that did not exit 0 with its expected result, and why. */
export async function lostProcesses(
  client: pg.Client,
  collectorPid: number,
  agentPids: number[],
): Promise<{ total: number; lost: LostProcess[] }> {
  const rows = (
    await client.query<ProcessRow>(
      'select pid::int, agent_name, input, state, wait_reason, wait_detail, exit_status, result, error from aos.processes order by pid',
    )
  ).rows;
  const lost: LostProcess[] = [];
  for (const row of rows) {
    const expected =
      row.pid === collectorPid
        ? collectorResult(agentPids)
        : row.agent_name === 'chaos-messenger'
          ? agentResult
          : expectedProgramResult(row.agent_name, row.input);
    const base = { pid: row.pid, agent: row.agent_name };
    if (row.state === 'stopped' && row.wait_reason === 'diverged') {
      lost.push({ ...base, kind: 'diverged', detail: row.wait_detail?.message ?? 'stopped: diverged' });
    } else if (row.state !== 'exited') {
      lost.push({
        ...base,
        kind: 'stuck',
        detail: `${row.state}${row.wait_reason ? `/${row.wait_reason}` : ''}`,
      });
    } else if (row.exit_status !== 0) {
      lost.push({
        ...base,
        kind: 'failed',
        detail: `exit ${row.exit_status}: ${row.error?.code ?? ''} ${row.error?.message ?? ''}`.trim(),
      });
    } else if (canonical(row.result) !== canonical(expected)) {
      lost.push({
        ...base,
        kind: 'wrong-result',
        detail: `${canonical(row.result).slice(0, 200)} (expected ${canonical(expected).slice(0, 200)})`,
      });
    }
  }
  return { total: rows.length, lost };
}

export interface JournaledRerun {
  pid: number;
  name: string;
  worker: number;
  startedAt: string;
  journaledAt: string;
}

/** Step bodies that began after their step was journaled as done (a completed step run again). */
export async function journaledReruns(client: pg.Client): Promise<JournaledRerun[]> {
  const result = await client.query<JournaledRerun>(
    `select e.pid::int, e.name, e.worker, e.started_at::text as "startedAt", s.done::text as "journaledAt"
       from chaos_effects e
       join lateral (select min(finished_at) as done from aos.steps
                      where pid = e.pid and kind = 'step' and name = e.name and status = 'done') s on true
      where s.done is not null and e.started_at > s.done
      order by e.pid, e.name`,
  );
  return result.rows;
}

export interface InFlightClasses {
  /** Step bodies running (begun, not finished) in a worker at the instant it was SIGKILLed. */
  total: number;
  /** The body never ran again (its step must then never have been journaled). */
  ranOnce: number;
  /** Ran again once after the takeover: at least once, as documented. */
  ranTwice: number;
  ranThreeOrMore: number;
  /** Of those, the step never reached `done` in the journal. */
  neverJournaled: number;
  /** Two runs of the same step body overlapping in time in different workers. */
  overlapping: number;
}

/** Classes of the step bodies that were in flight in a worker when it was killed. */
export async function inFlightClasses(
  client: pg.Client,
  kills: { worker: number; at: number }[],
): Promise<InFlightClasses> {
  const result = await client.query<{
    runs: number;
    journaled: boolean;
    overlapping: boolean;
  }>(
    `with kills as (select * from unnest($1::int[], $2::float8[]) as k(worker, at_ms)),
          flying as (
            select distinct e.pid, e.name from chaos_effects e join kills k on e.worker = k.worker
             where e.started_at <= to_timestamp(k.at_ms / 1000.0)
               and (e.finished_at is null or e.finished_at > to_timestamp(k.at_ms / 1000.0)))
     select (select count(*)::int from chaos_effects e where e.pid = f.pid and e.name = f.name) as runs,
            exists (select 1 from aos.steps s where s.pid = f.pid and s.kind = 'step' and s.name = f.name
                       and s.status = 'done') as journaled,
            exists (select 1 from chaos_effects a join chaos_effects b
                       on a.pid = b.pid and a.name = b.name and a.id < b.id and a.worker <> b.worker
                      where a.pid = f.pid and a.name = f.name
                        and b.started_at < coalesce(a.finished_at, 'infinity')
                        and a.started_at < coalesce(b.finished_at, 'infinity')
                        and a.finished_at is not null and b.finished_at is not null) as overlapping
       from flying f`,
    [kills.map((kill) => kill.worker), kills.map((kill) => kill.at)],
  );
  const rows = result.rows;
  return {
    total: rows.length,
    ranOnce: rows.filter((row) => row.runs === 1).length,
    ranTwice: rows.filter((row) => row.runs === 2).length,
    ranThreeOrMore: rows.filter((row) => row.runs >= 3).length,
    neverJournaled: rows.filter((row) => !row.journaled).length,
    overlapping: rows.filter((row) => row.overlapping).length,
  };
}

/** Step bodies (anywhere in the run) that ran in two workers at overlapping times, both to the end. */
export async function overlappingRuns(client: pg.Client): Promise<number> {
  const result = await client.query<{ count: number }>(
    `select count(distinct (a.pid, a.name))::int as count from chaos_effects a join chaos_effects b
        on a.pid = b.pid and a.name = b.name and a.id < b.id and a.worker <> b.worker
     where b.started_at < a.finished_at and a.started_at < b.finished_at`,
  );
  return result.rows[0]!.count;
}

/** (pid, op) pairs journaled as final (done, failed, unknown-outcome) more than once, by kind. */
export async function duplicateFinals(client: pg.Client): Promise<{ kind: string; count: number }[]> {
  const result = await client.query<{ kind: string; count: number }>(
    `select kind, count(*)::int as count from (
        select pid, op, min(kind) as kind from aos.steps
         where kind in ('step', 'model', 'tool') and status in ('done', 'failed', 'unknown-outcome')
         group by pid, op having count(*) > 1) d
      group by kind order by kind`,
  );
  return result.rows;
}

/** Model turns, and (pid, op) pairs with more than one model row. */
export async function modelTurns(client: pg.Client): Promise<{ turns: number; duplicated: number }> {
  const result = await client.query<{ turns: number; duplicated: number }>(
    `select count(*)::int as turns, count(*) filter (where rows > 1)::int as duplicated from (
        select pid, op, count(*) as rows from aos.steps where kind = 'model' and status = 'done'
         group by pid, op) m`,
  );
  return result.rows[0]!;
}

export interface MessageCounts {
  expected: number;
  /** Messages in the collector's mailbox (sent by the agents). */
  sent: number;
  receivedOnce: number;
  receivedTwiceOrMore: number;
  missing: number;
}

function findReceived(value: unknown): { from: unknown; message: unknown } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  if ('from' in record && 'message' in record) return { from: record.from, message: record.message };
  for (const item of Object.values(record)) {
    const found = findReceived(item);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Each message an agent sent, counted by how often the collector's journal received it. */
export async function messageCounts(
  client: pg.Client,
  collectorPid: number,
  agentPids: number[],
): Promise<MessageCounts> {
  const sent = await client.query<{ count: number }>(
    'select count(*)::int as count from aos.mailbox where pid = $1',
    [collectorPid],
  );
  const received = await client.query<{ output: unknown }>(
    "select output from aos.steps where pid = $1 and kind = 'tool' and name = 'recv' and status = 'done'",
    [collectorPid],
  );
  const seen = new Map<string, number>();
  for (const row of received.rows) {
    const message = findReceived(row.output);
    if (message === undefined) continue;
    const key = `${String(message.from)}:${String(message.message)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const expected = agentPids.flatMap((pid) => agentMessages.map((body) => `${pid}:${body}`));
  return {
    expected: expected.length,
    sent: sent.rows[0]!.count,
    receivedOnce: expected.filter((key) => seen.get(key) === 1).length,
    receivedTwiceOrMore: expected.filter((key) => (seen.get(key) ?? 0) > 1).length,
    missing: expected.filter((key) => !seen.has(key)).length,
  };
}

/** The deadlocks PostgreSQL counted in this database (its statistics lag by up to a second). */
export async function deadlocks(client: pg.Client): Promise<number> {
  const result = await client.query<{ deadlocks: string }>(
    'select pg_stat_get_db_deadlocks(oid) as deadlocks from pg_database where datname = current_database()',
  );
  return Number(result.rows[0]!.deadlocks);
}

/** Journal totals: step rows, and rows by status. */
export async function journalTotals(client: pg.Client): Promise<Record<string, number>> {
  const result = await client.query<{ status: string; count: number }>(
    'select status, count(*)::int as count from aos.steps group by status order by status',
  );
  return Object.fromEntries(result.rows.map((row) => [row.status, row.count]));
}
