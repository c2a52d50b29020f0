/**
 * Vacuum after large writes on PGlite. PGlite has no autovacuum: after a large import,
 * searches read the heap to count a namespace's memories (no visibility map yet) and the
 * planner has no statistics; at 100,000 memories searches ran 4.6-6.5x slower until a
 * `vacuum` (docs/benchmarks.md). A server's autovacuum does this by itself.
 */
import type { Queryable } from '../storage/db.js';

/** Rows written at once from which aos.memories is vacuumed and analyzed on PGlite. */
export const vacuumAfterRows = 1000;

/**
 * `vacuum (analyze) aos.memories` when `db` is a PGlite database handle (not a transaction:
 * vacuum cannot run in one) and `rows` reached vacuumAfterRows. Resolves to whether it ran.
 */
export async function vacuumAfterLargeWrite(db: Queryable, rows: number): Promise<boolean> {
  const kind = (db as { kind?: unknown }).kind;
  const isHandle = typeof (db as { transaction?: unknown }).transaction === 'function';
  if (kind !== 'pglite' || !isHandle || rows < vacuumAfterRows) return false;
  await db.exec('vacuum (analyze) aos.memories');
  return true;
}
