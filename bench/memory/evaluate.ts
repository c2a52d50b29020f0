/**
 * Shared by the memory benchmarks: opening the database (PGlite in memory, or a fresh
 * database on the server at AOS_BENCH_DATABASE_URL), importing an evaluation set (one
 * namespace per conversation), and the metrics: recall@k (the share of a question's
 * evidence turns in the first k results, averaged) and MRR@10 (1 / rank of the first).
 */
import pg from 'pg';
import type { Embedder } from '../../src/memory/embedder.js';
import { addMemories } from '../../src/memory/memory-store.js';
import type { Db } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrate.js';
import { createPgliteDb, openPglite } from '../../src/storage/pglite-db.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import type { Category, EvaluationSet, Question } from './generate.js';

/** A database for one benchmark run; `drop` removes it. */
export async function benchDatabase(
  label: string,
  where: 'pglite' | 'postgres',
  dataDir?: string,
): Promise<{ db: Db; describe: string; drop(): Promise<void> }> {
  if (where === 'pglite') {
    const db = createPgliteDb(await openPglite(dataDir), dataDir ?? 'memory');
    await migrate(db);
    return {
      db,
      describe: `PGlite 0.5.14 (${dataDir === undefined ? 'in memory' : 'on disk'})`,
      drop: () => db.close(),
    };
  }
  const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `aos_bench_${label}_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createPostgresDb({ connection: url.toString(), maxConnections: 4 });
  await migrate(db);
  const version = (await db.query<{ server_version: string }>('show server_version')).rows[0]!.server_version;
  return {
    db,
    describe: `PostgreSQL ${version} server (no pgvector)`,
    async drop() {
      await db.close();
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

/** The namespace a conversation is imported into. */
export function namespaceOf(conversation: string): string {
  return `bench:${conversation}`;
}

/** Imports every conversation of the set; resolves to the time it took in ms. */
export async function importSet(db: Db, set: EvaluationSet, embedder: Embedder): Promise<number> {
  const started = performance.now();
  for (const conversation of set.conversations) {
    await addMemories(
      db,
      namespaceOf(conversation.id),
      conversation.turns.map((turn) => ({
        id: turn.id,
        text: turn.text,
        time: turn.time,
        thread: turn.thread,
        seq: turn.seq,
        meta: { speaker: turn.speaker },
      })),
      { embedder, returnMemories: false },
    );
  }
  return performance.now() - started;
}

/** Recall@5, recall@10 and MRR@10 of one ranked list of ids. */
export function scoreOf(ranked: readonly string[], question: Question) {
  const evidence = new Set(question.evidence);
  const within = (k: number) => ranked.slice(0, k).filter((id) => evidence.has(id)).length / evidence.size;
  const first = ranked.slice(0, 10).findIndex((id) => evidence.has(id));
  return { recall5: within(5), recall10: within(10), reciprocalRank: first === -1 ? 0 : 1 / (first + 1) };
}

export type Score = ReturnType<typeof scoreOf>;

/** Means of scores. */
export function meanOf(scores: readonly Score[]): Score {
  const mean = (pick: (score: Score) => number) =>
    scores.reduce((sum, score) => sum + pick(score), 0) / Math.max(1, scores.length);
  return {
    recall5: mean((score) => score.recall5),
    recall10: mean((score) => score.recall10),
    reciprocalRank: mean((score) => score.reciprocalRank),
  };
}

/** The distance bucket of a question: how far back its earliest evidence is. */
export function distanceOf(question: Question): string {
  if (question.turnsBack < 100) return '< 100 turns back';
  if (question.turnsBack < 300) return '100-299 turns back';
  return '≥ 300 turns back';
}

/** Recall@10 by category and by distance, for the breakdown table. */
export function breakdownOf(questions: readonly Question[], scores: readonly Score[]) {
  const groups = new Map<string, Score[]>();
  questions.forEach((question, index) => {
    for (const key of [question.category as Category | string, distanceOf(question)]) {
      const group = groups.get(key) ?? [];
      group.push(scores[index]!);
      groups.set(key, group);
    }
  });
  return new Map([...groups].map(([key, group]) => [key, { count: group.length, ...meanOf(group) }]));
}

/** A number as a fixed-width share. */
export function formatShare(value: number): string {
  return value.toFixed(3);
}
