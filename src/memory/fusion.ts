/**
 * Ranking without the database: reciprocal rank fusion of the retrievers' lists, plus
 * recency and importance, and the expansion of hits to their neighbouring turns. Pure
 * functions, so that bench/memory tunes the weights with the code that uses them.
 */
import type { Candidate } from './candidate.js';

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
  /** A turn's full-text score gains this share of its adjacent turns' (conversation-context.ts). */
  neighbourShare: number;
  /** A turn gains this share of the best turn's score times its session's relative BM25 score. */
  sessionShare: number;
  /** Among this many first results, a memory that updates another ranks above it (supersession.ts; 0: off). */
  supersedeDepth: number;
}

/** The default weights (chosen on bench/memory; see docs/memory.md for why each). */
export const defaultSearchWeights: Readonly<SearchWeights> = Object.freeze({
  text: 1,
  vector: 0.05,
  rrfK: 30,
  candidates: 50,
  recency: 0,
  recencyHalfLifeDays: 120,
  importance: 0.002,
  neighbourWindow: 0,
  neighbourDecay: 0.5,
  textRanking: 'bm25',
  bm25K1: 1.2,
  bm25B: 0.75,
  commonShare: 0.25,
  neighbourShare: 0.2,
  sessionShare: 0.3,
  supersedeDepth: 10,
});

/** One retriever's candidates, best first, and its weight in the fusion. */
export interface RankedList {
  name: 'text' | 'vector';
  weight: number;
  candidates: readonly Candidate[];
}

/** A candidate with its fused score and the retrievers (or neighbour links) that found it. */
export interface Fused {
  candidate: Candidate;
  score: number;
  via: Set<'text' | 'vector' | 'neighbour'>;
}

/** A memory next to hit `hit` (a row id) in its thread. */
export interface Neighbour {
  hit: number;
  candidate: Candidate;
}

/** Best first; ties by row id (older first). */
export function byScore(left: Fused, right: Fused): number {
  return right.score - left.score || left.candidate.id - right.candidate.id;
}

/**
 * Fuses the lists: rank r in a list adds weight / (rrfK + r); then recency (halving every
 * recencyHalfLifeDays back from `now`) and importance are added. Sorted best first.
 */
export function fuse(lists: readonly RankedList[], weights: SearchWeights, now: Date): Fused[] {
  const fused = new Map<number, Fused>();
  for (const list of lists) {
    list.candidates.forEach((candidate, index) => {
      const entry = fused.get(candidate.id) ?? { candidate, score: 0, via: new Set() };
      entry.score += list.weight / (weights.rrfK + index + 1);
      entry.via.add(list.name);
      fused.set(candidate.id, entry);
    });
  }
  for (const entry of fused.values()) {
    const ageDays = Math.max(0, now.getTime() - entry.candidate.at.getTime()) / 86_400_000;
    entry.score +=
      weights.recency * 0.5 ** (ageDays / weights.recencyHalfLifeDays) +
      weights.importance * entry.candidate.importance;
  }
  return [...fused.values()].sort(byScore);
}

/**
 * Adds the neighbours of the first `k` entries: a neighbour at distance d scores its hit's
 * score × decay^d, unless it already scores more. `neighboursOf` finds them. Sorted best first.
 */
export async function expandNeighbours(
  ranked: readonly Fused[],
  k: number,
  window: number,
  decay: number,
  neighboursOf: (hits: Candidate[]) => Promise<Neighbour[]>,
): Promise<Fused[]> {
  const hits = ranked
    .slice(0, k)
    .filter((entry) => entry.candidate.thread !== null && entry.candidate.seq !== null);
  if (window <= 0 || hits.length === 0) return [...ranked];
  const byId = new Map(ranked.map((entry) => [entry.candidate.id, { ...entry, via: new Set(entry.via) }]));
  const hitsById = new Map(hits.map((entry) => [entry.candidate.id, entry]));
  for (const neighbour of await neighboursOf(hits.map((entry) => entry.candidate))) {
    const hit = hitsById.get(neighbour.hit);
    if (hit === undefined) continue;
    const distance = Math.abs((neighbour.candidate.seq ?? 0) - (hit.candidate.seq ?? 0));
    const score = hit.score * decay ** distance;
    const existing = byId.get(neighbour.candidate.id);
    if (existing === undefined) {
      byId.set(neighbour.candidate.id, {
        candidate: neighbour.candidate,
        score,
        via: new Set(['neighbour']),
      });
    } else if (score > existing.score) {
      existing.score = score;
      existing.via.add('neighbour');
    }
  }
  return [...byId.values()].sort(byScore);
}
