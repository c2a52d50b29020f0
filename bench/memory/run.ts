/**
 * bench/memory: retrieval quality on the generated evaluation set (generate.ts): recall@5,
 * recall@10 and MRR@10 of aos's full text, vector, the parts of the default (the context
 * score, supersession, main's recency for comparison) and the default with and without the
 * vector, next to plain BM25 in JavaScript, in the same run on the same turns. The real
 * conversations are dialogue.ts's.
 * The defaults were tuned on another seed (tune.ts); this reports the held-out seed.
 *
 *   npm run bench:memory                 (PGlite in memory; --server: AOS_BENCH_DATABASE_URL)
 *   AOS_BENCH_SEED=2 AOS_BENCH_CONVERSATIONS=10 npm run bench:memory
 */
import { HashEmbedder } from '../../src/memory/hash-embedder.js';
import { type SearchOptions, searchMemories } from '../../src/memory/search.js';
import { Bm25Index } from './bm25.js';
import {
  benchDatabase,
  breakdownOf,
  formatShare,
  importSet,
  meanOf,
  namespaceOf,
  type Score,
  scoreOf,
} from './evaluate.js';
import { generateEvaluationSet } from './generate.js';

const seed = Number(process.env.AOS_BENCH_SEED ?? 2);
const conversations = Number(process.env.AOS_BENCH_CONVERSATIONS ?? 10);
const where = process.argv.includes('--server') ? 'postgres' : 'pglite';

/** The systems compared: each is searchMemories with some options, besides the BM25 baseline. */
const noContext = { sessionShare: 0, neighbourShare: 0, supersedeDepth: 0 };
const systems: { name: string; options: Partial<SearchOptions> }[] = [
  {
    name: 'aos full text (ts_rank)',
    options: { weights: { vector: 0, textRanking: 'ts_rank', ...noContext }, expandNeighbours: false },
  },
  { name: 'aos full text (BM25 over words, no context)', options: { weights: { vector: 0, ...noContext } } },
  { name: 'aos vector (hashing embedder)', options: { weights: { text: 0, ...noContext } } },
  {
    name: 'aos full text in context, no supersession',
    options: { weights: { vector: 0, supersedeDepth: 0 } },
  },
  {
    name: "aos default with main's recency instead of supersession",
    options: { weights: { recency: 0.032, supersedeDepth: 0 } },
  },
  {
    name: 'aos default without the vector (full text in context + supersession)',
    options: { weights: { vector: 0 } },
  },
  { name: 'aos default configuration (hybrid in context + supersession)', options: {} },
];

async function main(): Promise<void> {
  const set = generateEvaluationSet(seed, { conversations });
  const turns = set.conversations.reduce((sum, conversation) => sum + conversation.turns.length, 0);
  const { db, describe, drop } = await benchDatabase('memory', where);
  try {
    const embedder = new HashEmbedder();
    const importMs = await importSet(db, set, embedder);
    const rows: { name: string; mean: Score; scores: Score[]; ms: number }[] = [];

    const baselineStarted = performance.now();
    const indexes = new Map(
      set.conversations.map((conversation) => [conversation.id, new Bm25Index(conversation.turns)]),
    );
    const baseline = set.questions.map((question) =>
      scoreOf(indexes.get(question.conversation)!.search(question.query, 10), question),
    );
    rows.push({
      name: 'BM25 baseline (JavaScript)',
      mean: meanOf(baseline),
      scores: baseline,
      ms: (performance.now() - baselineStarted) / set.questions.length,
    });

    for (const system of systems) {
      const scores: Score[] = [];
      const started = performance.now();
      for (const question of set.questions) {
        const results = await searchMemories(db, {
          namespaces: [namespaceOf(question.conversation)],
          query: question.query,
          k: 10,
          embedder,
          touch: false,
          ...system.options,
        });
        scores.push(
          scoreOf(
            results.map((result) => result.id),
            question,
          ),
        );
      }
      rows.push({
        name: system.name,
        mean: meanOf(scores),
        scores,
        ms: (performance.now() - started) / set.questions.length,
      });
    }

    const categories = new Map<string, number>();
    for (const question of set.questions)
      categories.set(question.category, (categories.get(question.category) ?? 0) + 1);
    console.log(
      `# bench/memory: seed ${seed}, ${set.conversations.length} conversations, ${turns} turns, ${set.questions.length} questions`,
    );
    console.log(
      `database: ${describe}; import ${Math.round(importMs)} ms (${Math.round(turns / (importMs / 1000))} turns/s)`,
    );
    console.log(`questions: ${[...categories].map(([name, count]) => `${name} ${count}`).join(', ')}`);
    console.log('');
    console.log('| system | recall@5 | recall@10 | MRR@10 | ms per query |');
    console.log('|---|---|---|---|---|');
    for (const row of rows) {
      console.log(
        `| ${row.name} | ${formatShare(row.mean.recall5)} | ${formatShare(row.mean.recall10)} | ${formatShare(row.mean.reciprocalRank)} | ${row.ms.toFixed(1)} |`,
      );
    }
    console.log('');
    const shown = [rows[0]!, rows[2]!, rows.at(-3)!, rows.at(-1)!];
    const breakdowns = shown.map((row) => breakdownOf(set.questions, row.scores));
    console.log(`| recall@10 / MRR@10 by group | questions | ${shown.map((row) => row.name).join(' | ')} |`);
    console.log(`|---|---|${shown.map(() => '---').join('|')}|`);
    for (const key of breakdowns[0]!.keys()) {
      const cells = breakdowns.map(
        (breakdown) =>
          `${formatShare(breakdown.get(key)!.recall10)} / ${formatShare(breakdown.get(key)!.reciprocalRank)}`,
      );
      console.log(`| ${key} | ${breakdowns[0]!.get(key)!.count} | ${cells.join(' | ')} |`);
    }
  } finally {
    await drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
