/**
 * The two vector paths: an HNSW index where pgvector exists (PGlite), an exact scan where
 * it does not (the server); both must rank a fixed set the same way, so the exact scan is
 * run on PGlite too and compared with the index.
 */
import { describe, expect, it } from 'vitest';
import { embeddingModelOf } from '../src/memory/embedder.js';
import { HashEmbedder } from '../src/memory/hash-embedder.js';
import { addMemories } from '../src/memory/memory-store.js';
import { searchMemories } from '../src/memory/search.js';
import { vectorCandidates, vectorIndexName } from '../src/memory/vector-search.js';
import type { Db } from '../src/storage/db.js';
import { migratedDatabases, testDatabases } from './support/databases.js';

/** A deterministic set of varied sentences (a small LCG picks the words). */
function sentences(count: number): string[] {
  const subjects = [
    'my sister',
    'the cat',
    'our team',
    'a neighbour',
    'the doctor',
    'my friend Ana',
    'the bakery',
  ];
  const verbs = [
    'visited',
    'painted',
    'repaired',
    'cancelled',
    'booked',
    'photographed',
    'cooked',
    'ordered',
  ];
  const objects = [
    'the garden',
    'a train to Porto',
    'the old piano',
    'dinner',
    'a sailing trip',
    'the roof',
    'soup',
  ];
  const times = ['on Monday', 'last winter', 'in March', 'yesterday', 'after work', 'at dawn', 'twice'];
  let state = 7;
  const next = (length: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % length;
  };
  return Array.from(
    { length: count },
    (_, index) =>
      `${subjects[next(subjects.length)]} ${verbs[next(verbs.length)]} ${objects[next(objects.length)]} ${times[next(times.length)]} (${index})`,
  );
}

const queries = [
  'who painted the piano',
  'a train to Porto',
  'cooked soup at dawn',
  'the cat',
  'sailing in March',
];

describe.each(testDatabases)('vector search on $name', (database) => {
  const fresh = migratedDatabases(database);
  let db: Db;

  it('returns the same top-k by the HNSW index and by the exact scan (the index only where pgvector exists)', async () => {
    db = await fresh();
    const embedder = new HashEmbedder();
    await addMemories(
      db,
      'set',
      sentences(300).map((text) => ({ text })),
      { embedder },
    );
    const model = embeddingModelOf(embedder, 256);
    const index = await db.query(
      "select indexdef from pg_indexes where schemaname = 'aos' and indexname = $1",
      [vectorIndexName(model)],
    );
    if (database.name === 'pglite') {
      expect(index.rows[0]!.indexdef).toMatch(
        /USING hnsw \(\(\(embedding\)::vector\(256\)\) vector_ip_ops\)/,
      );
      expect(index.rows[0]!.indexdef).toContain(`WHERE (embedding_model = '${model}'::text)`);
    } else {
      expect(index.rowCount).toBe(0);
      await expect(
        vectorCandidates(db, {
          namespaces: ['set'],
          vector: (await embedder.embed(['x']))[0]!,
          embeddingModel: model,
          limit: 5,
          path: 'index',
        }),
      ).rejects.toThrow(/no HNSW index/);
    }
    const vectors = await embedder.embed(queries);
    for (const vector of vectors) {
      const options = { namespaces: ['set'], vector, embeddingModel: model, limit: 10 };
      const exact = await vectorCandidates(db, { ...options, path: 'exact' });
      const auto = await vectorCandidates(db, { ...options, path: 'auto' });
      expect(exact).toHaveLength(10);
      expect(auto.map((candidate) => candidate.id)).toEqual(exact.map((candidate) => candidate.id));
      for (const [position, candidate] of auto.entries())
        expect(candidate.score).toBeCloseTo(exact[position]!.score, 5);
      // Scores are inner products of unit vectors: cosines, best first.
      expect(exact[0]!.score).toBeLessThanOrEqual(1.000001);
      expect(exact[0]!.score).toBeGreaterThanOrEqual(exact[9]!.score);
    }
    // The whole search agrees too.
    for (const query of queries) {
      const byIndex = await searchMemories(db, { namespaces: ['set'], query, embedder, touch: false });
      const byScan = await searchMemories(db, {
        namespaces: ['set'],
        query,
        embedder,
        touch: false,
        vectorPath: 'exact',
      });
      expect(byIndex.map((result) => result.id)).toEqual(byScan.map((result) => result.id));
      // The vector alone (the default fuses it at a small weight), by the index and by the scan.
      const vectorOnly = { namespaces: ['set'], query, embedder, touch: false, weights: { text: 0 } };
      const onlyByIndex = await searchMemories(db, vectorOnly);
      const onlyByScan = await searchMemories(db, { ...vectorOnly, vectorPath: 'exact' });
      expect(onlyByScan.length).toBeGreaterThan(0);
      expect(onlyByIndex.map((result) => result.id)).toEqual(onlyByScan.map((result) => result.id));
    }
  });

  it.skipIf(database.name !== 'pglite')('uses the HNSW index for the search where there is one', async () => {
    db = await fresh();
    const embedder = new HashEmbedder();
    await addMemories(
      db,
      'set',
      sentences(50).map((text) => ({ text })),
      { embedder },
    );
    const name = vectorIndexName(embeddingModelOf(embedder, 256));
    const scans = async () => {
      await db.query('select pg_stat_force_next_flush()');
      const result = await db.query<{ idx_scan: number }>(
        "select idx_scan from pg_stat_user_indexes where schemaname = 'aos' and indexrelname = $1",
        [name],
      );
      return Number(result.rows[0]!.idx_scan);
    };
    const before = await scans();
    await searchMemories(db, { namespaces: ['set'], query: 'the old piano', embedder, touch: false });
    expect(await scans()).toBeGreaterThan(before);
    await searchMemories(db, {
      namespaces: ['set'],
      query: 'the old piano',
      embedder,
      touch: false,
      vectorPath: 'exact',
    });
    expect(await scans()).toBe(before + 1);
  });

  it('scans exactly for vectors too long for HNSW, and never compares vectors of different models', async () => {
    db = await fresh();
    const long = new HashEmbedder({ dimensions: 2048 });
    const short = new HashEmbedder();
    await addMemories(db, 'mixed', [{ id: 'long', text: 'the old piano in the hall' }], { embedder: long });
    await addMemories(db, 'mixed', [{ id: 'short', text: 'the old piano in the hall' }], { embedder: short });
    const indexes = await db.query(
      "select indexname from pg_indexes where schemaname = 'aos' and indexname like 'memories_hnsw_%'",
    );
    expect(indexes.rowCount).toBe(database.name === 'pglite' ? 1 : 0);
    for (const [embedder, id] of [
      [long, 'long'],
      [short, 'short'],
    ] as const) {
      const found = await searchMemories(db, {
        namespaces: ['mixed'],
        query: 'piano',
        embedder,
        weights: { text: 0 },
        touch: false,
      });
      expect(found.map((result) => result.id)).toEqual([id]);
      expect(found[0]!.score).toBeGreaterThan(0);
    }
  });
});
