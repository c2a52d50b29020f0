/**
 * Recall for `aos recall` (the recall syscall): an id (a page
 * "p3" or a memory's own id) gives that memory whole; anything else is a query over the
 * namespaces that exist among those given, pages included.
 */
import type { Queryable } from '../storage/db.js';
import { existingNamespaces } from '../trust/namespaces.js';
import type { Embedder } from './embedder.js';
import { getMemory } from './memory-store.js';
import { searchMemories } from './search.js';

/** A recalled memory: where it is, what it is, how well it matched (null for an id), its text. */
export interface Recalled {
  namespace: string;
  id: string;
  kind: string;
  score: number | null;
  text: string;
}

/** Recalls `query` in `namespaces` (those never written are skipped): by id when one of them has it, else by search. */
export async function recallMemories(
  db: Queryable,
  namespaces: readonly string[],
  query: string,
  options: { k?: number; embedder?: Embedder } = {},
): Promise<Recalled[]> {
  const names = await existingNamespaces(db, namespaces);
  if (names.length === 0) return [];
  const byId = await db.query(
    'select 1 from aos.memories where namespace = any($1) and external_id = $2 limit 1',
    [names, query.trim()],
  );
  if (byId.rowCount > 0) {
    const memory = await getMemory(db, names, query.trim(), { touch: true });
    return [
      { namespace: memory.namespace, id: memory.id, kind: memory.kind, score: null, text: memory.text },
    ];
  }
  const results = await searchMemories(db, {
    namespaces: names,
    query,
    k: options.k ?? 5,
    embedder: options.embedder,
  });
  return results.map((result) => ({
    namespace: result.namespace,
    id: result.id,
    kind: result.kind,
    score: result.score,
    text: result.text,
  }));
}
