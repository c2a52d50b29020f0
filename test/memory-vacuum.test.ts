/** PGlite has no autovacuum: a large write vacuums aos.memories there, and only there. */
import { describe, expect, it } from 'vitest';
import { HashEmbedder } from '../src/memory/hash-embedder.js';
import { addMemories } from '../src/memory/memory-store.js';
import { vacuumAfterLargeWrite, vacuumAfterRows } from '../src/memory/vacuum.js';
import { migratedDatabases, testDatabases } from './support/databases.js';

const embedder = new HashEmbedder();

describe.each(testDatabases)('vacuum after large writes on $name', (database) => {
  const fresh = migratedDatabases(database);

  it('vacuums after a write of many memories on PGlite, not after small ones, and never in a transaction', async () => {
    const db = await fresh();
    const allVisible = async () =>
      (
        await db.query<{ pages: number }>(
          "select relallvisible as pages from pg_class where oid = 'aos.memories'::regclass",
        )
      ).rows[0]!.pages;
    await addMemories(db, 'small', [{ text: 'one memory' }], { embedder });
    expect(await allVisible()).toBe(0);
    const many = Array.from({ length: vacuumAfterRows }, (_, index) => ({ text: `memory number ${index}` }));
    await addMemories(db, 'large', many, { embedder, returnMemories: false });
    // Vacuum sets the visibility map (relallvisible); the server leaves it to autovacuum.
    if (db.kind === 'pglite') expect(await allVisible()).toBeGreaterThan(0);
    else expect(await vacuumAfterLargeWrite(db, vacuumAfterRows)).toBe(false);
    expect(await db.transaction((tx) => vacuumAfterLargeWrite(tx, vacuumAfterRows))).toBe(false);
    expect(await vacuumAfterLargeWrite(db, vacuumAfterRows - 1)).toBe(false);
  });
});
