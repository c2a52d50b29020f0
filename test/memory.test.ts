/** Long-term memory: store, search, forget, on PGlite (with pgvector) and on the server (without). */
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { HashEmbedder } from '../src/memory/hash-embedder.js';
import { addMemories, forgetMemories, getMemory, listMemories } from '../src/memory/memory-store.js';
import { searchMemories } from '../src/memory/search.js';
import type { Db } from '../src/storage/db.js';
import { migratedDatabases, testDatabases } from './support/databases.js';

const embedder = new HashEmbedder();

async function failure(promise: Promise<unknown>): Promise<AosError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AosError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const conversation = [
  { id: 't1', text: 'I adopted a beagle puppy last weekend.', thread: 's1', seq: 1 },
  { id: 't2', text: 'What did you name the puppy?', thread: 's1', seq: 2 },
  { id: 't3', text: 'Biscuit! He chews everything.', thread: 's1', seq: 3 },
  { id: 't4', text: 'My sister Maya moved to Lisbon for a new job.', thread: 's2', seq: 1 },
  { id: 't5', text: 'The weather in Oslo was freezing all week.', thread: 's2', seq: 2 },
  { id: 't6', text: 'I have been baking sourdough bread on Sundays.', thread: 's3', seq: 1 },
];

describe.each(testDatabases)('memory on $name', (database) => {
  const fresh = migratedDatabases(database);
  let db: Db;

  it('adds, gets, lists and forgets memories, generating ids and keeping given ones', async () => {
    db = await fresh();
    const added = await addMemories(
      db,
      'agent:notes',
      [
        {
          text: 'The deploy key lives in the vault.',
          kind: 'fact',
          importance: 0.9,
          meta: { source: 'ops' },
        },
        {
          id: 'howto',
          text: 'To release: tag, push, wait for CI.',
          kind: 'procedure',
          time: '2026-01-02T03:04:05Z',
        },
      ],
      { embedder },
    );
    expect(added.map((memory) => memory.id)).toEqual([expect.stringMatching(/^m\d+$/), 'howto']);
    expect(added[0]).toMatchObject({
      namespace: 'agent:notes',
      kind: 'fact',
      importance: 0.9,
      meta: { source: 'ops' },
    });
    expect(added[0]!.embeddingModel).toBe('hash-v1/256');
    expect(added[1]).toMatchObject({ kind: 'procedure', time: '2026-01-02T03:04:05.000Z', accessCount: 0 });
    expect(await getMemory(db, 'agent:notes', 'howto')).toMatchObject({
      text: 'To release: tag, push, wait for CI.',
    });
    const touched = await getMemory(db, ['process:9', 'agent:notes'].slice(1), 'howto', { touch: true });
    expect(touched.accessCount).toBe(1);
    expect((await listMemories(db, { namespace: 'agent:notes' })).map((memory) => memory.id)).toEqual([
      added[0]!.id,
      'howto',
    ]);
    expect(await forgetMemories(db, 'agent:notes', ['howto', 'nope'])).toEqual(['howto']);
    expect((await failure(getMemory(db, 'agent:notes', 'howto'))).code).toBe('not_found');
    const clash = await failure(
      addMemories(db, 'agent:notes', [{ id: added[0]!.id, text: 'again' }], { embedder }),
    );
    expect(clash.code).toBe('conflict');
    expect(clash.message).toContain(added[0]!.id);
    const twice = await failure(
      addMemories(
        db,
        'agent:notes',
        [
          { id: 'x', text: 'a' },
          { id: 'x', text: 'b' },
        ],
        { embedder },
      ),
    );
    expect(twice).toMatchObject({ code: 'conflict', message: expect.stringContaining('items 1 and 2') });
    const bad = await failure(
      addMemories(db, 'agent:notes', [{ text: 'fine' }, { text: ' ' }], { embedder }),
    );
    expect(bad).toMatchObject({ code: 'invalid_input', message: expect.stringContaining('item 2') });
    // Nothing of a refused batch was stored.
    expect(await listMemories(db, { namespace: 'agent:notes' })).toHaveLength(1);
  });

  it('is not_found for a namespace never written, in every function', async () => {
    db = await fresh();
    await addMemories(db, 'agent:a', [{ text: 'something' }], { embedder });
    for (const attempt of [
      () => getMemory(db, 'agent:none', 'm1'),
      () => listMemories(db, { namespace: 'agent:none' }),
      () => forgetMemories(db, 'agent:none', ['m1']),
      () => searchMemories(db, { namespaces: ['agent:a', 'agent:none'], query: 'something', embedder }),
    ]) {
      const error = await failure(attempt());
      expect(error.code).toBe('not_found');
      expect(error.message).toContain('agent:none');
    }
  });

  it('finds memories by full text (OR of lexemes) and by vector, across namespaces and kinds', async () => {
    db = await fresh();
    await addMemories(db, 'conv', conversation, { embedder });
    await addMemories(db, 'facts', [{ id: 'f1', text: 'Maya works as a pastry chef.', kind: 'fact' }], {
      embedder,
    });
    // One word of the query matches: an AND query would find nothing.
    const lisbon = await searchMemories(db, {
      namespaces: ['conv'],
      query: 'which city is my sister living in now',
      embedder,
      expandNeighbours: false,
    });
    expect(lisbon[0]).toMatchObject({ id: 't4', via: expect.arrayContaining(['text']) });
    // No word in common with the stored turn ("bakery" vs "baking"): the vector finds it.
    const vectorOnly = await searchMemories(db, {
      namespaces: ['conv'],
      query: 'bakery',
      embedder,
      weights: { text: 0 },
      expandNeighbours: false,
    });
    expect(vectorOnly.map((result) => result.id)).toContain('t6');
    const both = await searchMemories(db, {
      namespaces: ['conv', 'facts'],
      query: 'Maya',
      embedder,
      expandNeighbours: false,
    });
    expect(
      both
        .slice(0, 2)
        .map((result) => result.id)
        .sort(),
    ).toEqual(['f1', 't4']);
    expect(both.slice(0, 2).every((result) => result.via.includes('text'))).toBe(true);
    const factsOnly = await searchMemories(db, {
      namespaces: ['conv', 'facts'],
      query: 'Maya',
      kinds: ['fact'],
      embedder,
    });
    expect(factsOnly.map((result) => result.id)).toEqual(['f1']);
  });

  it('matches full text by the words as written, without stemming', async () => {
    db = await fresh();
    await addMemories(
      db,
      'runs',
      [
        { id: 'r1', text: 'I ran my first marathon this morning.' },
        { id: 'r2', text: 'My neighbour runs past every morning.' },
      ],
      { embedder },
    );
    const textOnly = (query: string) =>
      searchMemories(db, {
        namespaces: ['runs'],
        query,
        embedder,
        weights: { vector: 0, recency: 0 },
        expandNeighbours: false,
      }).then((results) => results.map((result) => result.id));
    // English stemming would make "run" match "runs" (r2) and rank it with the marathon.
    expect(await textOnly('run')).toEqual([]);
    expect(await textOnly('runs')).toEqual(['r2']);
    expect(await textOnly('when did I run the marathon')).toEqual(['r1']);
  });

  it('expands a hit to its neighbouring turns in the same thread', async () => {
    db = await fresh();
    await addMemories(db, 'conv', conversation, { embedder });
    const query = { namespaces: ['conv'], query: 'name the puppy', embedder, k: 3 };
    // Without the context score (conversation-context.ts), which also brings t3 in.
    const weights = { vector: 0, neighbourShare: 0, sessionShare: 0 };
    const plain = await searchMemories(db, { ...query, expandNeighbours: false, weights });
    expect(plain.map((result) => result.id)).not.toContain('t3');
    const expanded = await searchMemories(db, { ...query, expandNeighbours: 1, weights });
    expect(expanded.map((result) => result.id)).toContain('t3');
    expect(expanded.find((result) => result.id === 't3')!.via).toEqual(['neighbour']);
    // Neighbours stay in their thread: t4 (another session) is not a neighbour of t3.
    expect(expanded.map((result) => result.id)).not.toContain('t4');
  });

  it('scores a turn in its conversation: the reply after a hit is found, and a hit in a matching session ranks higher', async () => {
    db = await fresh();
    await addMemories(db, 'conv', conversation, { embedder });
    const query = { namespaces: ['conv'], query: 'name the puppy', embedder, k: 3, weights: { vector: 0 } };
    const found = await searchMemories(db, query);
    // t3 shares no word with the query; it is the turn after t2, which does.
    expect(found.map((result) => result.id)).toContain('t3');
    expect(found.find((result) => result.id === 't3')!.via).toEqual(['text']);
    const alone = await searchMemories(db, { ...query, weights: { vector: 0, neighbourShare: 0 } });
    expect(alone.map((result) => result.id)).not.toContain('t3');

    // Two turns match "bread" alike; the one whose session is about baking bread ranks first.
    await addMemories(
      db,
      'sessions',
      [
        { id: 'a1', text: 'We talked about bread at lunch.', thread: 'a', seq: 1 },
        { id: 'a2', text: 'The train was late again.', thread: 'a', seq: 2 },
        { id: 'a3', text: 'The office moved to the third floor.', thread: 'a', seq: 3 },
        { id: 'b1', text: 'We talked about bread at dinner.', thread: 'b', seq: 1 },
        { id: 'b2', text: 'The trick is a long, slow rise.', thread: 'b', seq: 2 },
        {
          id: 'b3',
          text: 'Sourdough baking takes patience: the bread rises overnight.',
          thread: 'b',
          seq: 5,
        },
      ],
      { embedder },
    );
    const search = (weights: Record<string, number>) =>
      searchMemories(db, {
        namespaces: ['sessions'],
        query: 'talked about sourdough bread',
        embedder,
        k: 3,
        // Six memories: every word is in more than a quarter of them; all of them make candidates.
        weights: { vector: 0, neighbourShare: 0, commonShare: 1, ...weights },
      });
    // a1 and b1 tie on words (a1, the older row, first); b1's session is also about sourdough.
    const plain = (await search({ sessionShare: 0 })).map((result) => result.id);
    expect(plain.indexOf('a1')).toBeLessThan(plain.indexOf('b1'));
    const inSession = (await search({})).map((result) => result.id);
    expect(inSession.indexOf('b1')).toBeLessThan(inSession.indexOf('a1'));
  });

  it('ranks a memory that updates an earlier one above it, and does not penalise old memories for their age', async () => {
    db = await fresh();
    const day = (n: number) => new Date(Date.UTC(2026, 0, n)).toISOString();
    await addMemories(
      db,
      'trips',
      [
        {
          id: 'plan',
          text: 'We are planning a trip to Quito in January.',
          time: day(1),
          thread: 's1',
          seq: 1,
        },
        {
          id: 'reply',
          text: 'Quito in January sounds lovely, enjoy the trip.',
          time: day(1),
          thread: 's1',
          seq: 2,
        },
        { id: 'car', text: 'My cousin drove to Quito last year.', time: day(20), thread: 's2', seq: 1 },
        {
          id: 'moved',
          text: 'We had to push the Quito trip back to September, work got in the way.',
          time: day(40),
          thread: 's3',
          seq: 1,
        },
        { id: 'old', text: 'My first bicycle was a red Peugeot.', time: day(2), thread: 's1', seq: 3 },
        { id: 'new', text: 'The Peugeot garage changed its hours.', time: day(41), thread: 's3', seq: 2 },
      ],
      { embedder },
    );
    const ids = async (query: string, weights: Record<string, number> = {}) =>
      (
        await searchMemories(db, {
          namespaces: ['trips'],
          query,
          embedder,
          k: 4,
          // Six memories: all words are common; let all make candidates.
          weights: { vector: 0, neighbourShare: 0, sessionShare: 0, commonShare: 1, ...weights },
        })
      ).map((result) => result.id);
    const question = 'In what month are we travelling to Quito?';
    const plain = await ids(question, { supersedeDepth: 0 });
    expect(plain.indexOf('moved')).toBeGreaterThan(plain.indexOf('plan'));
    // "moved" is later, in another session, says "push", holds "quito" and shares "trip" with "plan".
    const updated = await ids(question);
    expect(updated.indexOf('moved')).toBeLessThan(updated.indexOf('plan'));
    expect(updated.indexOf('moved')).toBeLessThan(updated.indexOf('reply'));
    // "car" is later than "plan" but changes nothing: it stays where its words put it.
    expect(updated.filter((id) => id !== 'moved')).toEqual(plain.filter((id) => id !== 'moved'));
    // "new" is newer and says "changed", but does not hold "first bicycle": not an update, and
    // "old", a month older, is not penalised for its age (main's recency weight ranked "new" first).
    expect((await ids('What was my first bicycle, a Peugeot?')).slice(0, 2)).toEqual(['old', 'new']);
  });

  it("weighs the vector list by the embedder's searchWeight unless the search sets one", async () => {
    db = await fresh();
    await addMemories(db, 'conv', conversation, { embedder });
    // "puppies" is no word of any memory: only the vector (character n-grams) finds "puppy".
    const search = (searchWeight: number, weights?: Record<string, number>) =>
      searchMemories(db, {
        namespaces: ['conv'],
        query: 'puppies',
        embedder: { id: embedder.id, searchWeight, embed: (texts) => embedder.embed(texts) },
        weights,
      });
    expect(await search(0)).toEqual([]);
    expect((await search(1)).map((result) => result.via)).toContainEqual(['vector']);
    expect(await search(1, { vector: 0 })).toEqual([]);
  });

  it('returns a ranked or empty list for a query of stop words, never an error', async () => {
    db = await fresh();
    await addMemories(db, 'conv', conversation, { embedder });
    for (const query of ['the and of', 'who are you', '   ', '!!!']) {
      expect(await searchMemories(db, { namespaces: ['conv'], query, embedder })).toEqual([]);
    }
    // Stop words around one real word: ranked by that word.
    const results = await searchMemories(db, { namespaces: ['conv'], query: 'who is the puppy', embedder });
    expect(results[0]!.text).toContain('puppy');
    for (let index = 1; index < results.length; index++)
      expect(results[index - 1]!.score).toBeGreaterThanOrEqual(results[index]!.score);
  });

  it('counts search results as accessed', async () => {
    db = await fresh();
    await addMemories(db, 'conv', conversation, { embedder });
    await searchMemories(db, { namespaces: ['conv'], query: 'Lisbon sister', embedder, k: 1 });
    await searchMemories(db, { namespaces: ['conv'], query: 'Lisbon sister', embedder, k: 1 });
    const memory = await getMemory(db, 'conv', 't4');
    expect(memory.accessCount).toBe(2);
    expect(memory.lastAccessedAt).not.toBeNull();
    await searchMemories(db, { namespaces: ['conv'], query: 'Lisbon sister', embedder, k: 1, touch: false });
    expect((await getMemory(db, 'conv', 't4')).accessCount).toBe(2);
  });

  it('ranks newer memories higher with a recency weight, and important ones with an importance weight', async () => {
    db = await fresh();
    await addMemories(
      db,
      'jobs',
      [
        { id: 'old', text: 'I work at Acme as a designer.', time: '2025-01-01T00:00:00Z', importance: 0.5 },
        {
          id: 'new',
          text: 'I work at Globex as a manager now.',
          time: '2025-06-01T00:00:00Z',
          importance: 0.5,
        },
      ],
      { embedder },
    );
    const query = {
      namespaces: ['jobs'],
      query: 'where do I work',
      embedder,
      expandNeighbours: false,
    } as const;
    const recent = await searchMemories(db, {
      ...query,
      weights: { recency: 0.05, recencyHalfLifeDays: 30 },
    });
    expect(recent[0]!.id).toBe('new');
    await db.query("update aos.memories set importance = 1 where external_id = 'old'");
    const important = await searchMemories(db, { ...query, weights: { recency: 0, importance: 0.5 } });
    expect(important[0]!.id).toBe('old');
  });
});
