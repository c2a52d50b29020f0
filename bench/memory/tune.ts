/**
 * bench/memory/tune: how the search defaults were chosen. On the tuning seed (not the one
 * run.ts reports), full-text candidates come from PostgreSQL once per question, vector
 * candidates from an exact scan in JavaScript for each embedder setting, and the fusion
 * runs through src/memory/fusion.ts itself. Coordinate descent maximizes the mean of
 * recall@5, recall@10 and MRR@10, in two stages: the hashing embedder alone (vector search
 * only, averaged over five hash salts, since which words collide is luck), then the fusion
 * weights with that embedder. It prints each step and the result.
 *
 *   npm run bench:memory:tune            (PGlite in memory; --server: AOS_BENCH_DATABASE_URL)
 *   AOS_BENCH_TUNE_STAGES=fusion npm run bench:memory:tune    (the fusion only, the embedder as it is)
 */
import type { Candidate } from '../../src/memory/candidate.js';
import {
  defaultSearchWeights,
  expandNeighbours,
  fuse,
  type Neighbour,
  type RankedList,
  type SearchWeights,
} from '../../src/memory/fusion.js';
import { HashEmbedder, type HashEmbedderOptions } from '../../src/memory/hash-embedder.js';
import { textCandidates } from '../../src/memory/text-search.js';
import type { Db } from '../../src/storage/db.js';
import { Bm25Index } from './bm25.js';
import { benchDatabase, importSet, meanOf, namespaceOf, scoreOf } from './evaluate.js';
import { type EvaluationSet, generateEvaluationSet } from './generate.js';

const seed = Number(process.env.AOS_BENCH_TUNE_SEED ?? 1);
const where = process.argv.includes('--server') ? 'postgres' : 'pglite';
const pool = 200;
const stages = (process.env.AOS_BENCH_TUNE_STAGES ?? 'embedder,fusion').split(',');

interface Setting {
  weights: SearchWeights;
  embedder: Required<HashEmbedderOptions>;
}

type Dimension = { name: string; values: unknown[]; apply(setting: Setting, value: unknown): Setting };

/** Stage 1, the embedder: judged alone (vector search only), averaged over hash salts. */
const embedderGrid: Dimension[] = (
  [
    ['dimensions', [256, 512, 1024, 2048]],
    ['probes', [1, 2, 4, 8, 16]],
    ['ngrams', [[3], [3, 4], [4], [3, 4, 5]]],
    ['wordWeight', [0.5, 1, 2]],
    ['ngramWeight', [0.5, 1, 2]],
    ['pairWeight', [0, 0.5, 1]],
  ] as const
).map(([name, values]) => ({
  name: `embedder.${name}`,
  values: [...values],
  apply: (setting, value) => ({ ...setting, embedder: { ...setting.embedder, [name]: value } }),
}));

/** Stage 2, the fusion: judged on the whole search, with the chosen embedder. */
const weightGrid: Dimension[] = (
  [
    ['vector', [0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1]],
    ['rrfK', [5, 10, 20, 30, 60, 100]],
    ['candidates', [10, 20, 30, 50, 100, 200]],
    ['recency', [0, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128]],
    ['recencyHalfLifeDays', [7, 14, 30, 60, 120, 240, 480]],
    ['neighbourWindow', [0, 1, 2, 3]],
    ['neighbourDecay', [0.5, 0.7, 0.8, 0.9, 0.95, 1]],
    ['commonShare', [0.05, 0.1, 0.25, 0.5, 1]],
    ['bm25K1', [0.6, 0.9, 1.2, 1.6, 2]],
    ['bm25B', [0.3, 0.5, 0.75, 0.9]],
  ] as const
).map(([name, values]) => ({
  name,
  values: [...values],
  apply: (setting, value) => ({ ...setting, weights: { ...setting.weights, [name]: value } }),
}));

const salts = ['', 'a', 'b', 'c', 'd'];

/** Coordinate descent: each dimension in turn, keeping the best value, twice over. */
async function descend(
  label: string,
  start: Setting,
  grid: Dimension[],
  objective: (setting: Setting) => Promise<number>,
): Promise<Setting> {
  let best = start;
  let bestScore = await objective(best);
  console.log(`${label} start: ${bestScore.toFixed(4)}`);
  for (let round = 1; round <= 2; round++) {
    for (const dimension of grid) {
      const tried: string[] = [];
      for (const value of dimension.values) {
        const candidate = dimension.apply(best, value);
        const score = await objective(candidate);
        tried.push(`${JSON.stringify(value)}=${score.toFixed(4)}`);
        if (score > bestScore + 1e-9) {
          best = candidate;
          bestScore = score;
        }
      }
      console.log(`${label} round ${round} ${dimension.name}: ${tried.join(' ')}`);
    }
  }
  console.log(`${label} best: ${bestScore.toFixed(4)}`);
  return best;
}

async function main(): Promise<void> {
  const set = generateEvaluationSet(seed, {
    conversations: Number(process.env.AOS_BENCH_CONVERSATIONS ?? 20),
  });
  const { db, describe, drop } = await benchDatabase('tune', where);
  try {
    await importSet(db, set, new HashEmbedder());
    const memories = await loadCandidates(db);
    const evaluator = createEvaluator(db, set, memories);
    console.log(`# bench/memory/tune: seed ${seed}, ${set.questions.length} questions, ${describe}`);
    const indexes = new Map(
      set.conversations.map((conversation) => [conversation.id, new Bm25Index(conversation.turns)]),
    );
    const baseline = meanOf(
      set.questions.map((question) =>
        scoreOf(indexes.get(question.conversation)!.search(question.query, 10), question),
      ),
    );
    console.log(
      `BM25 baseline: ${((baseline.recall5 + baseline.recall10 + baseline.reciprocalRank) / 3).toFixed(4)}`,
    );
    const start: Setting = {
      weights: { ...defaultSearchWeights },
      embedder: {
        dimensions: 256,
        ngrams: [3, 4],
        probes: 1,
        wordWeight: 1,
        ngramWeight: 1,
        pairWeight: 0.5,
        salt: '',
      },
    };
    const vectorOnly = {
      ...defaultSearchWeights,
      text: 0,
      vector: 1,
      neighbourWindow: 0,
      recency: 0,
      importance: 0,
    };
    const embedded = !stages.includes('embedder')
      ? start
      : await descend('embedder', start, embedderGrid, async (setting) => {
          let sum = 0;
          for (const salt of salts)
            sum += await evaluator({ weights: vectorOnly, embedder: { ...setting.embedder, salt } });
          return sum / salts.length;
        });
    const best = !stages.includes('fusion')
      ? embedded
      : await descend('fusion', { ...embedded, weights: start.weights }, weightGrid, evaluator);
    console.log(`best: ${JSON.stringify(best)}`);
  } finally {
    await drop();
  }
}

/** Every memory as a fusion candidate (score 0), by row id, external id, and thread position. */
async function loadCandidates(db: Db) {
  const rows = await db.query<{
    id: number;
    namespace: string;
    external_id: string;
    text: string;
    at: Date;
    importance: number;
    thread: string | null;
    seq: number | null;
  }>('select id, namespace, external_id, text, at, importance, thread, seq from aos.memories order by id');
  const byId = new Map<number, { candidate: Candidate; externalId: string; text: string }>();
  const byPlace = new Map<string, Candidate>();
  for (const row of rows.rows) {
    const candidate: Candidate = {
      id: Number(row.id),
      namespace: row.namespace,
      score: 0,
      at: new Date(row.at),
      importance: Number(row.importance),
      thread: row.thread,
      seq: row.seq,
      changes: false,
    };
    byId.set(candidate.id, { candidate, externalId: row.external_id, text: row.text });
    byPlace.set(`${row.namespace} ${row.thread} ${row.seq}`, candidate);
  }
  return { byId, byPlace };
}

/** A function from a setting to the objective, caching database and embedding work. */
function createEvaluator(db: Db, set: EvaluationSet, memories: Awaited<ReturnType<typeof loadCandidates>>) {
  const textCache = new Map<string, Candidate[][]>();
  const vectorCache = new Map<string, Candidate[][]>();
  const counts = new Map<string, number>();
  for (const { candidate } of memories.byId.values())
    counts.set(candidate.namespace, (counts.get(candidate.namespace) ?? 0) + 1);
  const newest = new Map<string, Date>();
  for (const { candidate } of memories.byId.values()) {
    const known = newest.get(candidate.namespace);
    if (known === undefined || candidate.at > known) newest.set(candidate.namespace, candidate.at);
  }

  async function textLists(weights: SearchWeights): Promise<Candidate[][]> {
    const key = JSON.stringify([weights.textRanking, weights.bm25K1, weights.bm25B, weights.commonShare]);
    let lists = textCache.get(key);
    if (lists === undefined) {
      lists = [];
      for (const question of set.questions) {
        const namespace = namespaceOf(question.conversation);
        lists.push(
          (
            await textCandidates(db, {
              namespaces: [namespace],
              query: question.query,
              limit: pool,
              documentCount: counts.get(namespace)!,
              ranking: weights.textRanking,
              k1: weights.bm25K1,
              b: weights.bm25B,
              commonShare: weights.commonShare,
            })
          ).hits,
        );
      }
      textCache.set(key, lists);
    }
    return lists;
  }

  async function vectorLists(options: Required<HashEmbedderOptions>): Promise<Candidate[][]> {
    const key = JSON.stringify(options);
    let lists = vectorCache.get(key);
    if (lists === undefined) {
      const embedder = new HashEmbedder(options);
      const all = [...memories.byId.values()];
      const vectors = await embedder.embed(all.map((memory) => memory.text));
      const queries = await embedder.embed(set.questions.map((question) => question.query));
      lists = set.questions.map((question, index) => {
        const namespace = namespaceOf(question.conversation);
        const query = queries[index]!;
        const scored: Candidate[] = [];
        all.forEach((memory, position) => {
          if (memory.candidate.namespace !== namespace) return;
          const vector = vectors[position]!;
          let score = 0;
          for (let d = 0; d < query.length; d++) score += query[d]! * vector[d]!;
          scored.push({ ...memory.candidate, score });
        });
        const rounded = (score: number) => Math.round(score * 1e6);
        return scored.sort((l, r) => rounded(r.score) - rounded(l.score) || l.id - r.id).slice(0, pool);
      });
      vectorCache.set(key, lists);
    }
    return lists;
  }

  return async (setting: Setting): Promise<number> => {
    const { weights } = setting;
    const text = weights.text > 0 ? await textLists(weights) : [];
    const vector = weights.vector > 0 ? await vectorLists(setting.embedder) : [];
    const scores = [];
    for (const [index, question] of set.questions.entries()) {
      const namespace = namespaceOf(question.conversation);
      const lists: RankedList[] = [];
      if (weights.text > 0)
        lists.push({
          name: 'text',
          weight: weights.text,
          candidates: text[index]!.slice(0, weights.candidates),
        });
      if (weights.vector > 0)
        lists.push({
          name: 'vector',
          weight: weights.vector,
          candidates: vector[index]!.slice(0, weights.candidates),
        });
      let ranked = fuse(lists, weights, newest.get(namespace)!);
      ranked = await expandNeighbours(
        ranked,
        10,
        weights.neighbourWindow,
        weights.neighbourDecay,
        async (hits) => {
          const found: Neighbour[] = [];
          for (const hit of hits) {
            for (
              let seq = hit.seq! - weights.neighbourWindow;
              seq <= hit.seq! + weights.neighbourWindow;
              seq++
            ) {
              const neighbour = memories.byPlace.get(`${hit.namespace} ${hit.thread} ${seq}`);
              if (neighbour !== undefined && neighbour.id !== hit.id)
                found.push({ hit: hit.id, candidate: neighbour });
            }
          }
          return found;
        },
      );
      const ids = ranked.slice(0, 10).map((entry) => memories.byId.get(entry.candidate.id)!.externalId);
      scores.push(scoreOf(ids, question));
    }
    const mean = meanOf(scores);
    return (mean.recall5 + mean.recall10 + mean.reciprocalRank) / 3;
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
