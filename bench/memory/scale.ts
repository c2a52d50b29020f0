/**
 * bench/memory/scale: 100,000 memories in one namespace. They are written as JSON-lines
 * files of 10,000 lines and imported one file at a time through the `mem import` syscall's
 * own handler (parse every line, then addMemories: 1,000 rows per INSERT, one transaction
 * per file, embedded with the offline hashing embedder), which reports the import rate.
 * Then search latency p50/p95 over questions of the evaluation set: full text only,
 * vector only, and the default hybrid search (with neighbours); on PGlite the vector
 * search uses pgvector's HNSW index, and is also measured by the exact scan; on the
 * server (no pgvector) the exact scan is the only path.
 *
 *   npm run bench:memory:scale                (PGlite in memory; --server: AOS_BENCH_DATABASE_URL)
 *   AOS_BENCH_MEMORIES=20000 AOS_BENCH_QUERIES=50 npm run bench:memory:scale -- --server
 *   AOS_BENCH_VACUUM=1 npm run bench:memory:scale -- --server      (vacuum before searching)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kernel } from '../../src/kernel.js';
import { HashEmbedder } from '../../src/memory/hash-embedder.js';
import { type SearchOptions, searchMemories } from '../../src/memory/search.js';
import { memImportSyscall } from '../../src/syscalls/memory.js';
import { localUser } from '../../src/syscalls/syscall.js';
import { benchDatabase } from './evaluate.js';
import { generateEvaluationSet, type Question, type Turn } from './generate.js';

const total = Number(process.env.AOS_BENCH_MEMORIES ?? 100_000);
const fileLines = Number(process.env.AOS_BENCH_IMPORT_LINES ?? 10_000);
const queryCount = Number(process.env.AOS_BENCH_QUERIES ?? 100);
/** The exact scan reads every vector of the namespace; fewer queries keep the server run short. */
const exactQueryCount = Number(process.env.AOS_BENCH_EXACT_QUERIES ?? Math.min(queryCount, 30));
const seed = Number(process.env.AOS_BENCH_SEED ?? 3);
const where = process.argv.includes('--server') ? 'postgres' : 'pglite';
const namespace = 'bench:scale';

/** `total` turns from generated conversations (realistic text and vocabulary), ids and threads made unique. */
function memoriesAndQuestions(): { turns: Turn[]; questions: Question[] } {
  const turns: Turn[] = [];
  const questions: Question[] = [];
  for (let round = 0; turns.length < total; round++) {
    const set = generateEvaluationSet(seed + round * 1000, { conversations: 10 });
    for (const conversation of set.conversations) {
      for (const turn of conversation.turns) {
        if (turns.length >= total) break;
        turns.push({
          ...turn,
          id: `r${round}:${turn.id}`,
          thread: `r${round}:${conversation.id}:${turn.thread}`,
        });
      }
    }
    questions.push(...set.questions);
  }
  return { turns, questions };
}

function percentile(sorted: readonly number[], share: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(share * sorted.length) - 1))]!;
}

async function main(): Promise<void> {
  const { turns, questions } = memoriesAndQuestions();
  const folder = mkdtempSync(join(tmpdir(), 'aos-bench-scale-'));
  const { db, describe, drop } = await benchDatabase('memscale', where, process.env.AOS_BENCH_PGLITE_DIR);
  try {
    const embedder = new HashEmbedder();
    // The handler uses only the kernel's database and embedder.
    const kernel = { db, embedder } as unknown as Kernel;
    const files: string[] = [];
    for (let start = 0; start < turns.length; start += fileLines) {
      const file = join(folder, `part-${files.length + 1}.jsonl`);
      const lines = turns.slice(start, start + fileLines).map((turn) =>
        JSON.stringify({
          id: turn.id,
          text: turn.text,
          time: turn.time,
          thread: turn.thread,
          seq: turn.seq,
        }),
      );
      writeFileSync(file, `${lines.join('\n')}\n`);
      files.push(file);
    }
    console.log(`# bench/memory/scale: ${turns.length} memories in one namespace, ${describe}`);
    console.log(`import: ${files.length} files of up to ${fileLines} lines through the mem import handler`);
    const importStarted = performance.now();
    const fileRates: number[] = [];
    for (const file of files) {
      const started = performance.now();
      const lines = readFileSync(file, 'utf8');
      const output = await memImportSyscall.handler(
        kernel,
        { ns: namespace, lines, source: file },
        localUser,
      );
      const seconds = (performance.now() - started) / 1000;
      fileRates.push(output.imported / seconds);
      console.log(`  ${file.split('/').at(-1)}: ${output.imported} in ${seconds.toFixed(1)} s`);
    }
    const importSeconds = (performance.now() - importStarted) / 1000;
    const count = (await db.query<{ n: number }>('select count(*)::int as n from aos.memories')).rows[0]!.n;
    const index = await db.query<{ indexname: string }>(
      "select indexname from pg_indexes where schemaname = 'aos' and indexname like 'memories_hnsw_%'",
    );
    console.log(
      `imported ${count} memories in ${importSeconds.toFixed(1)} s: ${Math.round(count / importSeconds)} memories/s ` +
        `(first file ${Math.round(fileRates[0]!)}/s, last ${Math.round(fileRates.at(-1)!)}/s); ` +
        `HNSW index: ${index.rowCount > 0 ? 'yes (maintained during the import)' : 'none'}`,
    );
    // As just imported (statistics only), or vacuumed (AOS_BENCH_VACUUM=1: the visibility map
    // set, as autovacuum would on the server, so counting a namespace reads only its index).
    const vacuum = process.env.AOS_BENCH_VACUUM === '1';
    await db.query(vacuum ? 'vacuum analyze aos.memories' : 'analyze aos.memories');
    console.log(
      vacuum ? 'vacuumed and analyzed before searching' : 'analyzed (not vacuumed) before searching',
    );

    const queries = questions.slice(0, queryCount).map((question) => question.query);
    const modes: { name: string; options: Partial<SearchOptions>; count: number }[] = [
      {
        name: 'full text',
        options: { weights: { vector: 0 }, expandNeighbours: false },
        count: queries.length,
      },
      // Lexemes in more than 5% (not 25%) of the memories make no candidates and are counted no further.
      {
        name: 'full text, commonShare 0.05',
        options: { weights: { vector: 0, commonShare: 0.05 }, expandNeighbours: false },
        count: queries.length,
      },
    ];
    if (index.rowCount > 0) {
      modes.push({
        name: 'vector (HNSW)',
        options: { weights: { text: 0 }, expandNeighbours: false, vectorPath: 'index' },
        count: queries.length,
      });
      modes.push({
        name: 'hybrid default (HNSW)',
        options: { vectorPath: 'index' },
        count: queries.length,
      });
    }
    modes.push({
      name: 'vector (exact scan)',
      options: { weights: { text: 0 }, expandNeighbours: false, vectorPath: 'exact' },
      count: exactQueryCount,
    });
    modes.push({
      name: 'hybrid default (exact scan)',
      options: { vectorPath: 'exact' },
      count: exactQueryCount,
    });

    console.log('');
    console.log('| search (k = 10) | queries | p50 ms | p95 ms | mean ms |');
    console.log('|---|---|---|---|---|');
    const run = (mode: (typeof modes)[number], query: string) =>
      searchMemories(db, { namespaces: [namespace], query, k: 10, embedder, touch: false, ...mode.options });
    // Warm-up: caches, plans, the index's pages.
    for (const mode of modes) for (const query of queries.slice(0, 3)) await run(mode, query);
    // Round robin over the modes, query by query, so that the load of the (shared) machine
    // at any moment weighs on every mode alike.
    const times = modes.map(() => [] as number[]);
    for (const [index, query] of queries.entries()) {
      for (const [position, mode] of modes.entries()) {
        if (index >= mode.count) continue;
        const started = performance.now();
        await run(mode, query);
        times[position]!.push(performance.now() - started);
      }
    }
    for (const [position, mode] of modes.entries()) {
      const sorted = times[position]!.sort((left, right) => left - right);
      const mean = sorted.reduce((sum, time) => sum + time, 0) / sorted.length;
      console.log(
        `| ${mode.name} | ${sorted.length} | ${percentile(sorted, 0.5).toFixed(1)} | ${percentile(sorted, 0.95).toFixed(1)} | ${mean.toFixed(1)} |`,
      );
    }
  } finally {
    await drop();
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
