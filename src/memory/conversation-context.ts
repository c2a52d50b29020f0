/**
 * Ranking a turn in its conversation: a memory's full-text score gains a share of its
 * neighbours' (the turns just before and after it in the same thread) and a share of
 * its session's (the thread, scored by BM25 as one document). In real dialogue the turn
 * that holds an answer often shares few words with the question, while the exchange
 * around it and the session it is in share many ("When did Melanie paint a sunrise?":
 * the painting is talked about over several turns). Pure functions over the full-text
 * hits (text-search.ts), so bench/memory scores them with the code that uses them.
 */
import type { Candidate } from './candidate.js';
import type { QueryLexeme, TextHit } from './text-search.js';

/** The knobs of the context score. */
export interface ContextWeights {
  /** A turn gains this share of its adjacent turns' (seq ± 1, same thread) full-text scores. */
  neighbourShare: number;
  /** A turn gains this share of the best turn's score times its session's score over the best session's. */
  sessionShare: number;
  bm25K1: number;
  bm25B: number;
}

/** What is known of the sessions (threads) of the hits. */
export interface SessionFacts {
  /** The length of each thread (its number of turns), by threadKey. */
  lengths: ReadonlyMap<string, number>;
  /** Threads in the namespaces searched, or an estimate (for the sessions' idf). */
  threadCount: number;
}

/** A thread's key; a memory outside any thread is a session of its own. */
export function threadKey(candidate: Pick<Candidate, 'id' | 'namespace' | 'thread'>): string {
  return candidate.thread === null ? `#${candidate.id}` : `${candidate.namespace}\u0000${candidate.thread}`;
}

function placeKey(candidate: Candidate, seq: number): string {
  return `${threadKey(candidate)}\u0000${seq}`;
}

/** BM25 of each session over the query's lexemes, its frequencies summed over the hits in it. */
export function sessionScores(
  hits: readonly TextHit[],
  lexemes: readonly QueryLexeme[],
  facts: SessionFacts,
  weights: Pick<ContextWeights, 'bm25K1' | 'bm25B'>,
): Map<string, number> {
  const sessions = new Map<string, { frequencies: number[]; length: number }>();
  for (const hit of hits) {
    const key = threadKey(hit);
    let session = sessions.get(key);
    if (session === undefined) {
      session = { frequencies: lexemes.map(() => 0), length: facts.lengths.get(key) ?? 0 };
      sessions.set(key, session);
    }
    hit.frequencies.forEach((frequency, index) => {
      session.frequencies[index]! += frequency;
    });
    // A thread whose length is unknown (none given, or a memory of its own) is as long as its hits.
    if (!facts.lengths.has(key)) session.length += 1;
  }
  const total = Math.max(facts.threadCount, sessions.size, 1);
  const idf = lexemes.map((_, index) => {
    let df = 0;
    for (const session of sessions.values()) if (session.frequencies[index]! > 0) df++;
    return Math.log(1 + (total - df + 0.5) / (df + 0.5));
  });
  let lengthSum = 0;
  for (const session of sessions.values()) lengthSum += session.length;
  const averageLength = Math.max(lengthSum / Math.max(sessions.size, 1), 1);
  const { bm25K1: k1, bm25B: b } = weights;
  const scores = new Map<string, number>();
  for (const [key, session] of sessions) {
    let score = 0;
    session.frequencies.forEach((tf, index) => {
      if (tf > 0)
        score += (idf[index]! * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * session.length) / averageLength));
    });
    scores.set(key, score);
  }
  return scores;
}

/**
 * The hits and their neighbours (turns next to a hit that matched nothing themselves),
 * rescored in context and sorted best first (ties by id): turn + neighbourShare × the
 * adjacent turns' scores + sessionShare × best turn × session / best session.
 */
export function inConversation(
  hits: readonly TextHit[],
  neighbours: readonly Candidate[],
  lexemes: readonly QueryLexeme[],
  facts: SessionFacts,
  weights: ContextWeights,
): Candidate[] {
  if (hits.length === 0) return [];
  const turnScore = new Map<string, number>();
  for (const hit of hits) if (hit.seq !== null) turnScore.set(placeKey(hit, hit.seq), hit.score);
  const sessions = sessionScores(hits, lexemes, facts, weights);
  const bestTurn = Math.max(...hits.map((hit) => hit.score));
  const bestSession = Math.max(...sessions.values());
  const known = new Set(hits.map((hit) => hit.id));
  const all: Candidate[] = [...hits, ...neighbours.filter((neighbour) => !known.has(neighbour.id))];
  const seen = new Set<number>();
  const scored: Candidate[] = [];
  for (const candidate of all) {
    if (seen.has(candidate.id)) continue;
    seen.add(candidate.id);
    const own = known.has(candidate.id) ? candidate.score : 0;
    const adjacent =
      candidate.seq === null
        ? 0
        : (turnScore.get(placeKey(candidate, candidate.seq - 1)) ?? 0) +
          (turnScore.get(placeKey(candidate, candidate.seq + 1)) ?? 0);
    const session = bestSession > 0 ? (sessions.get(threadKey(candidate)) ?? 0) / bestSession : 0;
    scored.push({
      ...candidate,
      score: own + weights.neighbourShare * adjacent + weights.sessionShare * bestTurn * session,
    });
  }
  return scored.sort((left, right) => right.score - left.score || left.id - right.id);
}
