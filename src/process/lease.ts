/**
 * Leases: how a worker claims runnable processes (FOR UPDATE SKIP LOCKED, by
 * priority then fair share), renews what it holds, and lets go. Each claim bumps
 * the lease generation, which every journal write checks (fencing).
 */
import type { Queryable } from '../storage/db.js';
import type { ProcessRow } from './process-table.js';

/**
 * Claims up to `limit` runnable processes for `workerId`: ready ones, expired leases (first
 * among their priority: they had a worker), and due wake-ups; except processes of programs registered without a module by another
 * kernel (only that kernel can run them), unless named in `localPrograms`.
 */
export async function claimProcesses(
  db: Queryable,
  workerId: string,
  leaseMs: number,
  limit: number,
  localPrograms: readonly string[] = [],
): Promise<ProcessRow[]> {
  const result = await db.query<ProcessRow>(
    `update aos.processes p
        set state = 'running', lease_owner = $1, lease_generation = p.lease_generation + 1,
            lease_expires_at = now() + make_interval(secs => $2 / 1000.0),
            started_at = coalesce(p.started_at, now()), wait_reason = null, wake_at = null, updated_at = now()
       from (select pid from aos.processes
              where (state = 'ready'
                     or (state = 'running' and lease_expires_at < now())
                     or (state in ('waiting', 'sleeping') and wake_at <= now()))
                and not exists (
                  select 1 from aos.agents a
                   where a.name = agent_name and a.version = agent_version
                     and a.definition -> 'program' -> 'module' = 'null'::jsonb
                     and a.name <> all ($4::text[]))
              -- A process whose worker died was running: it goes first among its priority.
              order by priority desc, (state = 'running') desc, vruntime, pid
              limit $3
                for update skip locked) claimable
      where p.pid = claimable.pid
      returning p.*, (select coalesce(max(s.seq), 0) from aos.steps s where s.pid = p.pid) as last_seq`,
    [workerId, leaseMs, limit, localPrograms],
  );
  return result.rows;
}

/** A lease a worker holds. */
export interface HeldLease {
  pid: number;
  generation: number;
}

/** What a renewal found for one lease: renewed (with its pending signals), busy (locked by another transaction just now; try again), or lost. */
export type Renewal =
  | { status: 'renewed'; pendingSignals: string[] }
  | { status: 'busy' }
  | { status: 'lost' };

/**
 * Extends every lease still held, without waiting for any row (aos.renew_leases): a row
 * another transaction holds is reported busy instead, so a heartbeat never queues behind
 * work nor takes part in a deadlock.
 */
export async function renewLeases(
  db: Queryable,
  workerId: string,
  leaseMs: number,
  held: HeldLease[],
): Promise<Map<number, Renewal>> {
  if (held.length === 0) return new Map();
  const result = await db.query<{
    pid: number;
    status: 'renewed' | 'busy' | 'lost';
    pending_signals: string[];
  }>(
    'select * from aos.renew_leases($1, $2, $3, $4)',
    [workerId, leaseMs, held.map((lease) => lease.pid), held.map((lease) => lease.generation)],
    { prepare: 'aos_renew_leases' },
  );
  return new Map(
    result.rows.map((row): [number, Renewal] => [
      row.pid,
      row.status === 'renewed'
        ? { status: 'renewed', pendingSignals: row.pending_signals }
        : { status: row.status },
    ]),
  );
}

/**
 * Extends one lease, if it is still held and unexpired; returns the pending signals, or
 * undefined when the lease is lost. One row, so it cannot take part in a deadlock.
 */
export async function extendLease(
  db: Queryable,
  lease: { pid: number; generation: number; leaseMs: number },
): Promise<string[] | undefined> {
  const result = await db.query<{ pending_signals: string[] }>(
    `update aos.processes set lease_expires_at = now() + make_interval(secs => $3 / 1000.0)
      where pid = $1 and lease_generation = $2 and state = 'running' and lease_expires_at > now()
      returning pending_signals`,
    [lease.pid, lease.generation, lease.leaseMs],
    { prepare: 'aos_extend_lease' },
  );
  return result.rows[0]?.pending_signals;
}

/** Gives back every process this worker still holds, as ready (used at shutdown). */
export async function releaseAll(db: Queryable, workerId: string): Promise<number> {
  const result = await db.query(
    `update aos.processes set state = 'ready', lease_owner = null, lease_expires_at = null, updated_at = now()
      where lease_owner = $1 and state = 'running'`,
    [workerId],
  );
  return result.rowCount;
}

/** Reaps zombies nobody waited for: exited processes older than `retentionMs`. Returns how many. */
export async function reapExpiredZombies(db: Queryable, retentionMs: number): Promise<number> {
  const result = await db.query(
    `update aos.processes set reaped_at = now()
      where state = 'exited' and reaped_at is null
        and exited_at < now() - make_interval(secs => $1 / 1000.0)`,
    [retentionMs],
  );
  return result.rowCount;
}
