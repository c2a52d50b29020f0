/**
 * bench/memory/dialogue: retrieval on real multi-session conversations (dialogue-set.ts),
 * next to the generated set's bench (run.ts). Each conversation is imported into its own
 * namespace, every question is searched (k = 50), and recall@1/5/10/50 and MRR are
 * reported per question kind for aos's defaults, aos's variants, and plain BM25
 * (bm25.ts) on the same turns in the same process. The development half is what the
 * defaults were chosen on; the held-out half, when present, is reported and never tuned on.
 *
 *   npm run bench:memory:dialogue                    (PGlite in memory; --server: AOS_BENCH_DATABASE_URL)
 *   npm run bench:memory:dialogue -- --half held-out
 *   npm run bench:memory:dialogue -- --weights '{"neighbourWindow":0}'   (one more system: defaults + these)
 *   AOS_DIALOGUE_MISSES=/tmp/misses.jsonl ...        (each question's ranks, for studying misses)
 */
import { writeFileSync } from 'node:fs';
import { embedderFromEnvironment } from '../../src/memory/embedder-from-environment.js';
import { addMemories } from '../../src/memory/memory-store.js';
import { type SearchOptions, searchMemories } from '../../src/memory/search.js';
import { Bm25Index } from './bm25.js';
import {
  byKind,
  type DialogueConversation,
  type DialogueScore,
  dialogueDataFolder,
  dialogueScoreOf,
  loadDialogueHalf,
  ranksScored,
} from './dialogue-set.js';
import { benchDatabase } from './evaluate.js';

const where = process.argv.includes('--server') ? 'postgres' : 'pglite';
const flag = (name: string) => {
  const index = process.argv.indexOf(name);
  return index === -1 ? undefined : process.argv[index + 1];
};
const half = (flag('--half') ?? 'dev') as 'dev' | 'held-out';
const extraWeights = flag('--weights');

/** The systems compared (besides plain BM25): aos's default, and what each part of it adds. */
const systems: { name: string; options: Partial<SearchOptions> }[] = [
  {
    name: 'aos full text alone (BM25 over words, no context)',
    options: {
      weights: { vector: 0, sessionShare: 0, neighbourShare: 0, supersedeDepth: 0 },
      expandNeighbours: false,
    },
  },
  { name: 'aos full text in context (no vector)', options: { weights: { vector: 0 } } },
  { name: "aos default + main's recency (0.032, 120 days)", options: { weights: { recency: 0.032 } } },
  { name: 'aos default', options: {} },
];
if (extraWeights !== undefined) {
  systems.push({ name: `aos default + ${extraWeights}`, options: { weights: JSON.parse(extraWeights) } });
}

const namespaceOf = (conversation: string) => `dialogue:${conversation}`;

async function main(): Promise<void> {
  const conversations = loadDialogueHalf(half);
  if (conversations === undefined) {
    console.log(
      `bench/memory/dialogue: the ${half} half is not in ${dialogueDataFolder()} (set AOS_DIALOGUE_DATA${half === 'held-out' ? ' or AOS_DIALOGUE_HELDOUT' : ''}); skipped`,
    );
    return;
  }
  const questions = conversations.flatMap((conversation) =>
    conversation.questions.map((question) => ({ conversation: conversation.conversation, question })),
  );
  const { db, describe, drop } = await benchDatabase('dialogue', where);
  try {
    const embedder = embedderFromEnvironment();
    const importStarted = performance.now();
    for (const conversation of conversations) {
      await addMemories(db, namespaceOf(conversation.conversation), conversation.memories, {
        embedder,
        returnMemories: false,
      });
    }
    const importMs = performance.now() - importStarted;
    const rows: { name: string; scores: DialogueScore[]; ranked: string[][]; ms: number }[] = [];

    const started = performance.now();
    const indexes = new Map(
      conversations.map((conversation: DialogueConversation) => [
        conversation.conversation,
        new Bm25Index(conversation.memories),
      ]),
    );
    const bm25 = questions.map(({ conversation, question }) =>
      indexes.get(conversation)!.search(question.query, ranksScored),
    );
    rows.push({
      name: 'plain BM25 (JavaScript)',
      ranked: bm25,
      scores: bm25.map((ranked, index) => dialogueScoreOf(ranked, questions[index]!.question)),
      ms: (performance.now() - started) / questions.length,
    });

    for (const system of systems) {
      const ranked: string[][] = [];
      const systemStarted = performance.now();
      for (const { conversation, question } of questions) {
        const results = await searchMemories(db, {
          namespaces: [namespaceOf(conversation)],
          query: question.query,
          k: ranksScored,
          embedder,
          touch: false,
          ...system.options,
        });
        ranked.push(results.map((result) => result.id));
      }
      rows.push({
        name: system.name,
        ranked,
        scores: ranked.map((list, index) => dialogueScoreOf(list, questions[index]!.question)),
        ms: (performance.now() - systemStarted) / questions.length,
      });
    }

    const turns = conversations.reduce((sum, conversation) => sum + conversation.memories.length, 0);
    console.log(
      `# bench/memory/dialogue: ${half} half, ${conversations.length} conversations, ${turns} turns, ${questions.length} questions`,
    );
    console.log(`database: ${describe}; embedder ${embedder.id}; import ${Math.round(importMs)} ms`);
    console.log('');
    const percent = (value: number) => (100 * value).toFixed(1);
    const all = rows.map((row) => ({
      row,
      kinds: byKind(
        questions.map((entry) => entry.question),
        row.scores,
      ),
    }));
    console.log('| system | R@1 | R@5 | R@10 | R@50 | MRR | ms/query |');
    console.log('|---|---|---|---|---|---|---|');
    for (const { row, kinds } of all) {
      const mean = kinds.get('all')!;
      console.log(
        `| ${row.name} | ${percent(mean.r1)} | ${percent(mean.r5)} | ${percent(mean.r10)} | ${percent(mean.r50)} | ${percent(mean.mrr)} | ${row.ms.toFixed(1)} |`,
      );
    }
    for (const metric of ['r10', 'mrr'] as const) {
      console.log('');
      console.log(
        `| ${metric === 'r10' ? 'R@10' : 'MRR'} by kind | questions | ${all.map(({ row }) => row.name).join(' | ')} |`,
      );
      console.log(`|---|---|${all.map(() => '---').join('|')}|`);
      for (const [kind, mean] of all[0]!.kinds) {
        const cells = all.map(({ kinds }) => percent(kinds.get(kind)![metric]));
        console.log(`| ${kind} | ${mean.count} | ${cells.join(' | ')} |`);
      }
    }
    const default_ = all.find(({ row }) => row.name === 'aos default')!.kinds;
    console.log('');
    console.log('| aos default by kind | questions | R@1 | R@5 | R@10 | R@50 | MRR |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [kind, mean] of default_) {
      console.log(
        `| ${kind} | ${mean.count} | ${percent(mean.r1)} | ${percent(mean.r5)} | ${percent(mean.r10)} | ${percent(mean.r50)} | ${percent(mean.mrr)} |`,
      );
    }
    const misses = process.env.AOS_DIALOGUE_MISSES;
    if (misses !== undefined) {
      const lines = questions.map(({ conversation, question }, index) =>
        JSON.stringify({
          conversation,
          ...question,
          ranks: Object.fromEntries(rows.map((row) => [row.name, row.ranked[index]])),
        }),
      );
      writeFileSync(misses, `${lines.join('\n')}\n`);
    }
  } finally {
    await drop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
