/**
 * Memory search: full text and vector candidates fused by reciprocal rank, plus recency
 * and importance, optionally expanded to neighbouring turns of the same conversation
 * (same namespace and thread, seq ± window). Every weight is configurable; the defaults
 * were chosen on bench/memory (docs/benchmarks.md). Returned memories count as accessed.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import type { Candidate } from './candidate.js';
import { type Embedder, embeddingModelOf, isZeroVector } from './embedder.js';
import { embedderFromEnvironment } from './embedder-from-environment.js';
import { type Memory, type MemoryKind, type MemoryRow, memoryColumns, toMemory } from './memory.js';
import { checkNamespaceName } from './namespaces.js';
import { textCandidates } from './text-search.js';
import { vectorCandidates } from './vector-search.js';

/** The knobs of ranking. */
export interface SearchWeights {
  /** Weight of the full-text list in the fusion (0 turns it off). */
  text: number;
  /** Weight of the vector list in the fusion (0 turns it off). */
  vector: number;
  /** Reciprocal rank fusion constant: a list's rank r adds weight / (rrfK + r). */
  rrfK: number;
  /** Candidates taken from each list. */
  candidates: number;
  /** Added for a memory as new as the newest one searched, halving every `recencyHalfLifeDays`. */
  recency: number;
  recencyHalfLifeDays: number;
  /** Added per unit of importance (0..1). */
  importance: number;
  /** Neighbours of each hit within this many turns are added (0: none). */
  neighbourWindow: number;
  /** A neighbour at distance d scores its hit's score × neighbourDecay^d (if that beats its own). */
  neighbourDecay: number;
  /** Full-text ranking: BM25 over the lexemes, or PostgreSQL's ts_rank. */
  textRanking: 'bm25' | 'ts_rank';
  bm25K1: number;
  bm25B: number;
  /** Lexemes in more than this share of memories do not make candidates (they still score). */
  commonShare: number;
}

/** The default weights (chosen on bench/memory; see docs/memory.md for why each). */
export const defaultSearchWeights: Readonly<SearchWeights> = Object.freeze({
  text: 1,
  vector: 1,
  rrfK: 60,
  candidates: 50,
  recency: 0,
  recencyHalfLifeDays: 30,
  importance: 0.002,
  neighbourWindow: 1,
  neighbourDecay: 0.9,
  textRanking: 'bm25',
  bm25K1: 1.2,
  bm25B: 0.75,
  commonShare: 0.25,
});

/** What to search for. */
export interface SearchOptions {
  /** Searched together; each must exist (`not_found` otherwise). */
  namespaces: readonly string[];
  query: string;
  /** How many results; default 10. */
  k?: number | undefined;
  /** Only these kinds; default all. */
  kinds?: readonly MemoryKind[] | undefined;
  /** false: no neighbours; a number: that window; default the weights' neighbourWindow. */
  expandNeighbours?: boolean | number | undefined;
  weights?: Partial<SearchWeights> | undefined;
  /** Default: the one the environment chooses; must be the one the memories were added with. */
  embedder?: Embedder | undefined;
  /** 'auto' (HNSW where pgvector exists), 'exact' (scan), 'index' (HNSW or fail). */
  vectorPath?: 'auto' | 'index' | 'exact' | undefined;
  /** Count results as accessed; default true. */
  touch?: boolean | undefined;
  /** Recency is measured back from here; default the newest memory in the namespaces. */
  now?: Date | undefined;
}

/** A found memory, its fused score, and which retrievers found it. */
export interface SearchResult extends Memory {
  score: number;
  via: ('text' | 'vector' | 'neighbour')[];
}

interface Scored {
  candidate: Candidate;
  score: number;
  via: Set<'text' | 'vector' | 'neighbour'>;
}

/** Searches memories; a query with no searchable words returns []. */
export async function searchMemories(db: Queryable, options: SearchOptions): Promise<SearchResult[]> {
  const weights: SearchWeights = { ...defaultSearchWeights, ...options.weights };
  const k = options.k ?? 10;
  const namespaces = [...new Set(options.namespaces)];
  if (namespaces.length === 0) throw new AosError('invalid_input', 'search needs at least one namespace');
  const stats = await namespaceStats(db, namespaces);
  const pool = Math.max(weights.candidates, k);
  const lists: { name: 'text' | 'vector'; weight: number; candidates: Candidate[] }[] = [];
  if (weights.text > 0) {
    const candidates = await textCandidates(db, {
      namespaces,
      query: options.query,
      kinds: options.kinds,
      limit: pool,
      documentCount: stats.count,
      ranking: weights.textRanking,
      k1: weights.bm25K1,
      b: weights.bm25B,
      commonShare: weights.commonShare,
    });
    lists.push({ name: 'text', weight: weights.text, candidates });
  }
  if (weights.vector > 0) {
    const embedder = options.embedder ?? embedderFromEnvironment();
    const [vector] = await embedder.embed([options.query]);
    if (vector !== undefined && !isZeroVector(vector)) {
      const candidates = await vectorCandidates(db, {
        namespaces,
        kinds: options.kinds,
        vector,
        embeddingModel: embeddingModelOf(embedder, vector.length),
        limit: pool,
        path: options.vectorPath,
      });
      lists.push({ name: 'vector', weight: weights.vector, candidates });
    }
  }
  const now = options.now ?? stats.newest ?? new Date();
  const fused = new Map<number, Scored>();
  for (const list of lists) {
    list.candidates.forEach((candidate, index) => {
      const entry = fused.get(candidate.id) ?? { candidate, score: 0, via: new Set() };
      entry.score += list.weight / (weights.rrfK + index + 1);
      entry.via.add(list.name);
      fused.set(candidate.id, entry);
    });
  }
  const adjust = (entry: Scored) => {
    const ageDays = Math.max(0, now.getTime() - entry.candidate.at.getTime()) / 86_400_000;
    entry.score +=
      weights.recency * 0.5 ** (ageDays / weights.recencyHalfLifeDays) +
      weights.importance * entry.candidate.importance;
  };
  for (const entry of fused.values()) adjust(entry);
  let ranked = [...fused.values()].sort(byScore);
  const window =
    options.expandNeighbours === false
      ? 0
      : typeof options.expandNeighbours === 'number'
        ? options.expandNeighbours
        : weights.neighbourWindow;
  if (window > 0 && ranked.length > 0) {
    await addNeighbours(db, ranked.slice(0, k), fused, window, weights.neighbourDecay, options.kinds);
    ranked = [...fused.values()].sort(byScore);
  }
  const top = ranked.slice(0, k);
  return fetchResults(db, top, options.touch ?? true);
}

function byScore(left: Scored, right: Scored): number {
  return right.score - left.score || left.candidate.id - right.candidate.id;
}

/** Checks that the namespaces exist; their memory count and newest memory time. */
async function namespaceStats(db: Queryable, namespaces: string[]) {
  for (const name of namespaces) checkNamespaceName(name);
  const result = await db.query<{ name: string; count: number; newest: Date | string | null }>(
    `select n.name, (select count(*) from aos.memories m where m.namespace = n.name)::int as count,
            (select max(at) from aos.memories m where m.namespace = n.name) as newest
       from aos.namespaces n where n.name = any($1)`,
    [namespaces],
  );
  const missing = namespaces.find((name) => !result.rows.some((row) => row.name === name));
  if (missing !== undefined) {
    throw new AosError('not_found', `no namespace named "${missing}"`, {
      hint: 'a namespace exists once something is written to it (aos mem add, aos mem import)',
    });
  }
  const newest = result.rows
    .map((row) => (row.newest === null ? undefined : new Date(row.newest)))
    .filter((date): date is Date => date !== undefined)
    .sort((left, right) => right.getTime() - left.getTime())[0];
  return { count: result.rows.reduce((sum, row) => sum + row.count, 0), newest };
}

/** Adds to `fused` the neighbours of `hits` (same namespace and thread, seq within `window`). */
async function addNeighbours(
  db: Queryable,
  hits: Scored[],
  fused: Map<number, Scored>,
  window: number,
  decay: number,
  kinds: readonly MemoryKind[] | undefined,
) {
  const threaded = hits.filter((hit) => hit.candidate.thread !== null && hit.candidate.seq !== null);
  if (threaded.length === 0) return;
  const found = await db.query<{
    hit: number;
    id: number;
    namespace: string;
    at: Date;
    importance: number;
    thread: string;
    seq: number;
  }>(
    `select h.id as hit, m.id, m.namespace, m.at, m.importance, m.thread, m.seq
       from aos.memories h
       join aos.memories m on m.namespace = h.namespace and m.thread = h.thread
                          and m.seq between h.seq - $2 and h.seq + $2 and m.id <> h.id
      where h.id = any($1) and ($3::text[] is null or m.kind = any($3))`,
    [
      threaded.map((hit) => hit.candidate.id),
      window,
      kinds === undefined || kinds.length === 0 ? null : kinds,
    ],
  );
  const hitsById = new Map(threaded.map((hit) => [hit.candidate.id, hit]));
  for (const row of found.rows) {
    const hit = hitsById.get(row.hit)!;
    const score = hit.score * decay ** Math.abs(row.seq - hit.candidate.seq!);
    const existing = fused.get(row.id);
    if (existing === undefined) {
      const candidate: Candidate = {
        ...row,
        id: Number(row.id),
        at: new Date(row.at),
        score: 0,
        importance: Number(row.importance),
      };
      fused.set(row.id, { candidate, score, via: new Set(['neighbour']) });
    } else if (score > existing.score) {
      existing.score = score;
      existing.via.add('neighbour');
    }
  }
}

/** The memories of `top`, in order, counted as accessed when `touch`. */
async function fetchResults(db: Queryable, top: Scored[], touch: boolean): Promise<SearchResult[]> {
  if (top.length === 0) return [];
  const ids = top.map((entry) => entry.candidate.id);
  const rows = await db.query<MemoryRow>(
    touch
      ? `update aos.memories set access_count = access_count + 1, last_accessed_at = now()
          where id = any($1) returning ${memoryColumns}`
      : `select ${memoryColumns} from aos.memories where id = any($1)`,
    [ids],
  );
  const byId = new Map(rows.rows.map((row) => [Number(row.id), row]));
  return top.flatMap((entry) => {
    const row = byId.get(entry.candidate.id);
    // A memory forgotten between ranking and fetching is left out.
    return row === undefined ? [] : [{ ...toMemory(row), score: entry.score, via: [...entry.via] }];
  });
}
