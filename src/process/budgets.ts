/** Owner budgets: tokens and cost across all of an owner's processes (aos.owner_budgets). */
import type { Queryable } from '../storage/db.js';

/** An owner's budget and what the owner's processes have used. */
export interface OwnerBudget {
  maxTokens: number | null;
  maxCostNanos: number | null;
  tokensUsed: number;
  costNanos: number;
}

/** The owner's budget with current use, or undefined when the owner has none. */
export async function ownerBudgetOf(db: Queryable, owner: string): Promise<OwnerBudget | undefined> {
  const result = await db.query<{
    max_tokens: number | null;
    max_cost: string | null;
    tokens: number;
    cost: number;
  }>(
    `select b.max_tokens, b.max_cost,
            (select coalesce(sum(tokens_used), 0) from aos.processes where owner = b.owner) as tokens,
            (select coalesce(sum(cost_nanos), 0) from aos.processes where owner = b.owner) as cost
       from aos.owner_budgets b where b.owner = $1`,
    [owner],
  );
  const row = result.rows[0];
  if (row === undefined) return undefined;
  return {
    maxTokens: row.max_tokens,
    maxCostNanos: row.max_cost === null ? null : Math.round(Number(row.max_cost) * 1e9),
    tokensUsed: Number(row.tokens),
    costNanos: Number(row.cost),
  };
}

/** Sets (or with both null, removes) an owner's budget. */
export async function setOwnerBudget(
  db: Queryable,
  owner: string,
  maxTokens: number | null,
  maxCost: number | null,
): Promise<void> {
  if (maxTokens === null && maxCost === null) {
    await db.query('delete from aos.owner_budgets where owner = $1', [owner]);
    return;
  }
  await db.query(
    `insert into aos.owner_budgets (owner, max_tokens, max_cost) values ($1, $2, $3)
     on conflict (owner) do update set max_tokens = excluded.max_tokens, max_cost = excluded.max_cost`,
    [owner, maxTokens, maxCost],
  );
}

/** Nano-dollars as a USD amount with up to 9 decimals, trailing zeros dropped. */
export function formatUsd(nanos: number): string {
  return (nanos / 1e9).toFixed(9).replace(/\.?0+$/, '');
}
