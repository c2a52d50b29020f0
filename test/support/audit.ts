/** Test help for the audit log: re-hash the whole chain, as someone who can disable its triggers can after an edit. */
import type { Queryable } from '../../src/storage/db.js';
import { entryHash } from '../../src/trust/audit.js';

/** Recomputes every entry's hash and link from the first on, so the chain is consistent again after an edit. */
export async function rehashAudit(db: Queryable): Promise<void> {
  const rows = await db.query<{
    id: number;
    at: string;
    kind: string;
    pid: number | null;
    actor: string;
    data: string;
  }>('select id, at, kind, pid, actor, data from aos.audit order by id');
  let previous = Buffer.alloc(32);
  for (const row of rows.rows) {
    const hash = entryHash(previous, row);
    await db.query('update aos.audit set prev_hash = $2, hash = $3 where id = $1', [row.id, previous, hash]);
    previous = hash;
  }
}
