/**
 * Approvals: a process asks a person (ctx.approval, or the approval tool) and waits in
 * state waiting/approval; a decision (aos approve, aos deny, or aos.approve() in SQL)
 * records who decided and why, and wakes it. A denial goes back to the process as a
 * result, never as a failure.
 */
import type { Queryable } from '../storage/db.js';

/** An approval as the APIs show it. */
export interface Approval {
  id: number;
  pid: number;
  question: string;
  requestedAt: string;
  decision: 'approved' | 'denied' | null;
  reason: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
}

interface ApprovalRow {
  id: number;
  pid: number;
  question: string;
  requested_at: Date;
  decision: 'approved' | 'denied' | null;
  reason: string | null;
  decided_by: string | null;
  decided_at: Date | null;
}

function toApproval(row: ApprovalRow): Approval {
  return {
    id: row.id,
    pid: row.pid,
    question: row.question,
    requestedAt: new Date(row.requested_at).toISOString(),
    decision: row.decision,
    reason: row.reason,
    decidedBy: row.decided_by,
    decidedAt: row.decided_at === null ? null : new Date(row.decided_at).toISOString(),
  };
}

/** Approvals waiting for a decision (with `all`, decided ones too), oldest first; of one process when `pid` is given. */
export async function listApprovals(
  db: Queryable,
  options: { all?: boolean; pid?: number } = {},
): Promise<Approval[]> {
  const result = await db.query<ApprovalRow>(
    `select a.* from aos.approvals a join aos.processes p on p.pid = a.pid
      where ($1 or (a.decision is null and p.state <> 'exited'))
        and ($2::bigint is null or a.pid = $2)
      order by a.id`,
    [options.all ?? false, options.pid ?? null],
  );
  return result.rows.map(toApproval);
}

/** Decides approval `id` of process `pid`; not_found and conflict come from aos.decide_approval. */
export async function decideApproval(
  db: Queryable,
  decision: { pid: number; id: number; approved: boolean; reason?: string; actor: string },
): Promise<Approval> {
  await db.query('select aos.decide_approval($1, $2, $3, $4, $5)', [
    decision.pid,
    decision.id,
    decision.approved,
    decision.reason ?? null,
    decision.actor,
  ]);
  const result = await db.query<ApprovalRow>('select * from aos.approvals where id = $1', [decision.id]);
  return toApproval(result.rows[0]!);
}
