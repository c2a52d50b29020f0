import { describe, expect, it } from 'vitest';
import type { Candidate } from './candidate.js';
import { inConversation, sessionScores, threadKey } from './conversation-context.js';
import type { TextHit } from './text-search.js';

const at = new Date(0);
const turn = (id: number, thread: string | null, seq: number | null, score = 0): Candidate => ({
  id,
  namespace: 'n',
  score,
  at,
  importance: 0.5,
  thread,
  seq,
  changes: false,
});
const hit = (id: number, thread: string, seq: number, score: number, frequencies: number[]): TextHit => ({
  ...turn(id, thread, seq, score),
  threadLength: 0,
  frequencies,
});
const lexemes = [
  { lexeme: 'bread', df: 2, idf: 1 },
  { lexeme: 'sourdough', df: 1, idf: 2 },
];
const weights = { neighbourShare: 0.2, sessionShare: 0.3, bm25K1: 1.2, bm25B: 0.75 };

describe('conversation context', () => {
  it('scores sessions by BM25 over the frequencies of their hits', () => {
    const hits = [hit(1, 'a', 1, 1, [1, 0]), hit(2, 'b', 1, 1, [1, 0]), hit(3, 'b', 4, 2, [1, 1])];
    const lengths = new Map([
      [threadKey(hits[0]!), 20],
      [threadKey(hits[1]!), 20],
    ]);
    const scores = sessionScores(hits, lexemes, { lengths, threadCount: 10 }, weights);
    expect(scores.get(threadKey(hits[1]!))!).toBeGreaterThan(scores.get(threadKey(hits[0]!))!);
    // A memory outside any thread is a session of its own, as long as itself.
    const single = { ...hit(4, 'x', 1, 1, [1, 0]), thread: null };
    expect(threadKey(single)).toBe('#4');
    expect(
      sessionScores([single], lexemes, { lengths: new Map(), threadCount: 1 }, weights).get('#4'),
    ).toBeGreaterThan(0);
  });

  it('adds a share of the adjacent turns and of the session, and brings in neighbours that matched nothing', () => {
    const hits = [hit(1, 'a', 1, 1, [1, 0]), hit(2, 'b', 1, 2, [1, 1])];
    const facts = { lengths: new Map(), threadCount: 2 };
    const ranked = inConversation(hits, [turn(3, 'b', 2), turn(2, 'b', 1)], lexemes, facts, weights);
    expect(ranked.map((entry) => entry.id)).toEqual([2, 1, 3]);
    const [best, other, neighbour] = ranked;
    // b is the best session: 2 scores 2 + 0.3 × 2 × 1, 3 (no words of its own) 0.2 × 2 + 0.3 × 2 × 1,
    // and 1 its own 1 plus a part of 0.3 × 2 (a's session scores below b's).
    expect(best!.score).toBeCloseTo(2.6);
    expect(neighbour!.score).toBeCloseTo(1);
    expect(other!.score).toBeGreaterThan(1);
    expect(other!.score).toBeLessThan(1.6);
    expect(inConversation([], [turn(3, 'b', 2)], lexemes, facts, weights)).toEqual([]);
  });
});
