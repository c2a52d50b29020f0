/**
 * Memory search: full-text and vector candidates from PostgreSQL, fused (fusion.ts) by
 * reciprocal rank with recency and importance, optionally expanded to neighbouring turns
 * of the same conversation (same namespace and thread, seq ± window). Every weight is
 * configurable; the defaults were chosen on bench/memory. Returned memories count as accessed.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName } from '../trust/namespaces.js';
import {
  type Candidate,
  type CandidateRow,
  candidateColumns,
  changesColumn,
  toCandidate,
} from './candidate.js';
import { inConversation, type SessionFacts, threadKey } from './conversation-context.js';
import { type Embedder, embeddingModelOf, isZeroVector } from './embedder.js';
import { embedderFromEnvironment } from './embedder-from-environment.js';
import {
  defaultSearchWeights,
  expandNeighbours,
  type Fused,
  fuse,
  type Neighbour,
  type RankedList,
  type SearchWeights,
} from './fusion.js';
import { type Memory, type MemoryKind, type MemoryRow, memoryColumns, toMemory } from './memory.js';
import { rankUpdatesFirst } from './supersession.js';
import { type TextHit, textCandidates } from './text-search.js';
import { vectorCandidates } from './vector-search.js';

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

export { defaultSearchWeights, type SearchWeights } from './fusion.js';

/** A found memory, its fused score, and which retrievers found it. */
export interface SearchResult extends Memory {
  score: number;
  via: ('text' | 'vector' | 'neighbour')[];
}

/** Searches memories; a query with no searchable words returns []. */
export async function searchMemories(db: Queryable, options: SearchOptions): Promise<SearchResult[]> {
  const embedder = options.embedder ?? embedderFromEnvironment();
  // The vector list's weight is the embedder's unless the search sets one.
  const weights: SearchWeights = {
    ...defaultSearchWeights,
    vector: embedder.searchWeight ?? defaultSearchWeights.vector,
    ...options.weights,
  };
  const k = options.k ?? 10;
  const namespaces = [...new Set(options.namespaces)];
  if (namespaces.length === 0) throw new AosError('invalid_input', 'search needs at least one namespace');
  const stats = await namespaceStats(db, namespaces);
  const pool = Math.max(weights.candidates, k);
  const lists: RankedList[] = [];
  const queryLexemes = new Set<string>();
  if (weights.text > 0) {
    const { hits, lexemes } = await textCandidates(db, {
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
    for (const lexeme of lexemes) queryLexemes.add(lexeme.lexeme);
    const inContext =
      lexemes.length > 0 && hits.length > 0 && (weights.sessionShare > 0 || weights.neighbourShare > 0);
    const candidates = !inContext
      ? hits
      : inConversation(
          hits,
          weights.neighbourShare > 0
            ? (await neighboursOf(db, hits.slice(0, Math.max(k, 20)), 1, options.kinds)).map(
                (neighbour) => neighbour.candidate,
              )
            : [],
          lexemes,
          sessionFacts(hits, stats.count),
          weights,
        );
    lists.push({ name: 'text', weight: weights.text, candidates });
  }
  if (weights.vector > 0) {
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
  let ranked = fuse(lists, weights, now);
  const window =
    options.expandNeighbours === false
      ? 0
      : typeof options.expandNeighbours === 'number'
        ? options.expandNeighbours
        : weights.neighbourWindow;
  if (window > 0) {
    ranked = await expandNeighbours(ranked, k, window, weights.neighbourDecay, (hits) =>
      neighboursOf(db, hits, window, options.kinds),
    );
  }
  if (weights.supersedeDepth > 0)
    ranked = await updatesFirst(db, ranked, queryLexemes, weights.supersedeDepth);
  return fetchResults(db, ranked.slice(0, k), options.touch ?? true);
}

/**
 * The ranking with memories that update others among the first `depth` moved above them
 * (supersession.ts); a moved memory takes the score of the one it passes, so scores stay in order.
 */
async function updatesFirst(
  db: Queryable,
  ranked: readonly Fused[],
  queryLexemes: ReadonlySet<string>,
  depth: number,
): Promise<Fused[]> {
  const top = ranked.slice(0, depth);
  // Only a memory with a change word can update another: most searches need no lexemes.
  if (!top.slice(1).some((entry) => entry.candidate.changes)) return [...ranked];
  const found = await db.query<{ id: number; lexemes: string[] }>(
    'select id, array(select lexeme from unnest(search)) as lexemes from aos.memories where id = any($1)',
    [top.map((entry) => entry.candidate.id)],
  );
  const lexemesOf = new Map(found.rows.map((row) => [Number(row.id), new Set(row.lexemes)]));
  const dated = top.map((entry) => ({
    entry,
    id: entry.candidate.id,
    at: entry.candidate.at,
    thread: entry.candidate.thread,
    lexemes: lexemesOf.get(entry.candidate.id) ?? new Set<string>(),
  }));
  const order = rankUpdatesFirst(dated, queryLexemes, depth).map(({ entry }) => ({ ...entry }));
  for (let index = order.length - 2; index >= 0; index--) {
    order[index]!.score = Math.max(order[index]!.score, order[index + 1]!.score);
  }
  return [...order, ...ranked.slice(depth)];
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

/**
 * The hits' threads' lengths (their memories), and how many threads the namespaces hold,
 * estimated as their memories over the mean length of the hits' threads (counting distinct
 * threads took 31 ms at 20,000 memories, more than the rest of a full-text search).
 */
function sessionFacts(hits: readonly TextHit[], memories: number): SessionFacts {
  const lengths = new Map<string, number>();
  for (const hit of hits) if (hit.thread !== null) lengths.set(threadKey(hit), hit.threadLength);
  let turns = 0;
  for (const length of lengths.values()) turns += length;
  const threadCount = turns === 0 ? memories : Math.round((memories * lengths.size) / turns);
  return { lengths, threadCount: Math.max(threadCount, lengths.size) };
}

/** The memories next to `hits` in their threads (same namespace and thread, seq within `window`). */
async function neighboursOf(
  db: Queryable,
  hits: readonly Candidate[],
  window: number,
  kinds: readonly MemoryKind[] | undefined,
): Promise<Neighbour[]> {
  const found = await db.query<CandidateRow & { hit: number }>(
    `select h.id as hit, ${candidateColumns}, ${changesColumn()}, 0 as score
       from aos.memories h
       join aos.memories m on m.namespace = h.namespace and m.thread = h.thread
                          and m.seq between h.seq - $2 and h.seq + $2 and m.id <> h.id
      where h.id = any($1) and ($3::text[] is null or m.kind = any($3))`,
    [hits.map((hit) => hit.id), window, kinds === undefined || kinds.length === 0 ? null : kinds],
  );
  return found.rows.map((row) => ({ hit: Number(row.hit), candidate: toCandidate(row) }));
}

/** The memories of `top`, in order, counted as accessed when `touch`. */
async function fetchResults(db: Queryable, top: readonly Fused[], touch: boolean): Promise<SearchResult[]> {
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
