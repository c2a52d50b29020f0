/**
 * The memory store: add memories to a namespace (embedded on the way in), fetch one by
 * id, list them, forget them. Search is in search.ts. Each function takes the database or
 * a transaction; writes of several statements run in one transaction.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, ensureNamespace, requireNamespace } from '../trust/namespaces.js';
import { type Embedder, embeddingModelOf, isZeroVector } from './embedder.js';
import { embedderFromEnvironment } from './embedder-from-environment.js';
import { inTransaction } from './in-transaction.js';
import {
  type Memory,
  type MemoryKind,
  type MemoryRow,
  memoryColumns,
  memoryKinds,
  type NewMemory,
  toMemory,
} from './memory.js';
import { vacuumAfterLargeWrite } from './vacuum.js';
import { ensureVectorIndex, vectorText } from './vector-search.js';

/** Options of addMemories. */
export interface AddOptions {
  /** Default: the one the environment chooses (embedderFromEnvironment). */
  embedder?: Embedder;
  /** Return the stored memories (default true; an import of many turns it off). */
  returnMemories?: boolean;
}

/** Rows per INSERT statement. */
const insertBatch = 1000;

/** A memory as it will be stored; `position` names it in errors ("item 3", "line 7"). */
interface Prepared {
  externalId: string | null;
  kind: MemoryKind;
  text: string;
  sourcePid: number | null;
  at: string | null;
  thread: string | null;
  seq: number | null;
  importance: number | null;
  meta: string;
}

/** Checks one new memory; `where` names it in the error ("item 3"). */
function prepare(item: NewMemory, where: string): Prepared {
  const fail = (message: string) =>
    new AosError('invalid_input', `${where}: ${message}`, {
      hint: 'a memory is {text, id?, kind?, time?, thread?, seq?, importance?, meta?}; see docs/memory.md',
    });
  if (typeof item.text !== 'string' || item.text.trim() === '')
    throw fail('"text" must be a non-empty string');
  if (item.id !== undefined && (typeof item.id !== 'string' || item.id.length < 1 || item.id.length > 200)) {
    throw fail('"id" must be a string of 1 to 200 characters');
  }
  const kind = item.kind ?? 'episode';
  if (!memoryKinds.includes(kind)) throw fail(`"kind" must be one of ${memoryKinds.join(', ')}`);
  let at: string | null = null;
  if (item.time !== undefined) {
    const time = item.time instanceof Date ? item.time : new Date(item.time);
    if (Number.isNaN(time.getTime()))
      throw fail('"time" must be an ISO 8601 date or milliseconds since 1970');
    at = time.toISOString();
  }
  if (item.seq !== undefined && !Number.isSafeInteger(item.seq)) throw fail('"seq" must be an integer');
  if (item.importance !== undefined && !(item.importance >= 0 && item.importance <= 1)) {
    throw fail('"importance" must be a number from 0 to 1');
  }
  if (
    item.meta !== undefined &&
    (item.meta === null || typeof item.meta !== 'object' || Array.isArray(item.meta))
  ) {
    throw fail('"meta" must be a JSON object');
  }
  return {
    externalId: item.id ?? null,
    kind,
    text: item.text,
    sourcePid: item.sourcePid ?? null,
    at,
    thread: item.thread ?? null,
    seq: item.seq ?? null,
    importance: item.importance ?? null,
    meta: JSON.stringify(item.meta ?? {}),
  };
}

/**
 * Adds memories to `namespace` (created at its first write), all or none: a bad item is
 * `invalid_input` naming it, an id already in the namespace (or twice in `items`) is
 * `conflict`. Texts are embedded with the embedder first. After a large write on PGlite the
 * table is vacuumed (vacuum.ts). Returns the stored memories in order.
 */
export async function addMemories(
  db: Queryable,
  namespace: string,
  items: readonly NewMemory[],
  options: AddOptions = {},
): Promise<Memory[]> {
  checkNamespaceName(namespace);
  const prepared = items.map((item, index) => prepare(item, `item ${index + 1}`));
  const seen = new Map<string, number>();
  prepared.forEach((item, index) => {
    if (item.externalId === null) return;
    const earlier = seen.get(item.externalId);
    if (earlier !== undefined) {
      throw new AosError(
        'conflict',
        `items ${earlier + 1} and ${index + 1} have the same id "${item.externalId}"`,
        {
          hint: 'ids are unique in a namespace',
        },
      );
    }
    seen.set(item.externalId, index);
  });
  const embedder = options.embedder ?? embedderFromEnvironment();
  const returned: Memory[] = [];
  // The first batch's embeddings are made before the transaction, to create the vector index (DDL) outside it.
  let pending = prepared.length > 0 ? await embed(embedder, prepared.slice(0, insertBatch)) : undefined;
  if (pending?.model !== undefined) await ensureVectorIndex(db, pending.model, pending.dimensions);
  await inTransaction(db, async (tx) => {
    await ensureNamespace(tx, namespace);
    const taken = await tx.query<{ external_id: string }>(
      'select external_id from aos.memories where namespace = $1 and external_id = any($2) limit 1',
      [namespace, [...seen.keys()]],
    );
    if (taken.rows[0] !== undefined) {
      throw new AosError(
        'conflict',
        `namespace ${namespace} already has a memory with id "${taken.rows[0].external_id}"`,
        {
          hint: `forget it first (aos mem forget --ns ${namespace} ${taken.rows[0].external_id}) or choose another id`,
        },
      );
    }
    for (let start = 0; start < prepared.length; start += insertBatch) {
      const batch = prepared.slice(start, start + insertBatch);
      const embedded = pending ?? (await embed(embedder, batch));
      pending = undefined;
      const rows = await insertRows(tx, namespace, batch, embedded, options.returnMemories ?? true);
      returned.push(...rows.sort((left, right) => left.id - right.id).map(toMemory));
    }
  });
  await vacuumAfterLargeWrite(db, prepared.length);
  return returned;
}

/** Embeddings of a batch, as real[] literals, with the model that made them (undefined when none had features). */
async function embed(embedder: Embedder, batch: readonly Prepared[]) {
  const vectors = await embedder.embed(batch.map((item) => item.text));
  const dimensions = vectors[0]?.length ?? 0;
  const model = dimensions === 0 ? undefined : embeddingModelOf(embedder, dimensions);
  return {
    model,
    dimensions,
    literals: vectors.map((vector) => (isZeroVector(vector) ? null : vectorText(vector))),
  };
}

async function insertRows(
  tx: Queryable,
  namespace: string,
  batch: readonly Prepared[],
  embedded: { model: string | undefined; literals: (string | null)[] },
  returning: boolean,
): Promise<MemoryRow[]> {
  const column = <T>(pick: (item: Prepared) => T) => batch.map(pick);
  // nextval in the inner select gives each row its id in input order; generated external ids use it.
  const result = await tx.query<MemoryRow>(
    `insert into aos.memories (id, namespace, external_id, kind, text, source_pid, at, thread, seq, importance, meta,
                               embedding, embedding_model)
     select s.id, $1, coalesce(s.external_id, 'm' || s.id), s.kind, s.text, s.source_pid, coalesce(s.at::timestamptz, now()),
            s.thread, s.seq, coalesce(s.importance, 0.5), s.meta::jsonb, s.embedding::real[],
            case when s.embedding is null then null else $12 end
       from (select nextval('aos.memories_id_seq') as id, t.*
               from unnest($2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::int[],
                           $9::real[], $10::text[], $11::text[])
                    with ordinality as t (external_id, kind, text, source_pid, at, thread, seq, importance, meta, embedding, ordinal)
              order by t.ordinal) s
     ${returning ? `returning ${memoryColumns}` : ''}`,
    [
      namespace,
      column((item) => item.externalId),
      column((item) => item.kind),
      column((item) => item.text),
      column((item) => item.sourcePid),
      column((item) => item.at),
      column((item) => item.thread),
      column((item) => item.seq),
      column((item) => item.importance),
      column((item) => item.meta),
      embedded.literals,
      embedded.model ?? null,
    ],
  );
  return result.rows;
}

/** Options of getMemory. */
export interface GetOptions {
  /** Count this as an access (access count, last access); default false. */
  touch?: boolean;
}

/**
 * The memory with external id `id` in the first of `namespaces` that has it; `not_found`
 * when a namespace was never written or none has the id.
 */
export async function getMemory(
  db: Queryable,
  namespaces: string | readonly string[],
  id: string,
  options: GetOptions = {},
): Promise<Memory> {
  const names = typeof namespaces === 'string' ? [namespaces] : [...namespaces];
  for (const name of names) await requireNamespace(db, name);
  const found = await db.query<MemoryRow>(
    options.touch
      ? `update aos.memories set access_count = access_count + 1, last_accessed_at = now()
          where id = (select id from aos.memories where namespace = any($1) and external_id = $2
                       order by array_position($1, namespace) limit 1)
          returning ${memoryColumns}`
      : `select ${memoryColumns} from aos.memories where namespace = any($1) and external_id = $2
          order by array_position($1, namespace) limit 1`,
    [names, id],
  );
  const row = found.rows[0];
  if (row === undefined) {
    throw new AosError('not_found', `no memory "${id}" in ${names.join(', ')}`, {
      hint: `list memories with: aos mem ls --ns ${names[0]}`,
    });
  }
  return toMemory(row);
}

/** Filters of listMemories. */
export interface ListOptions {
  /** Default: every namespace. */
  namespace?: string | undefined;
  kind?: MemoryKind | undefined;
  /** One conversation, in order of seq. */
  thread?: string | undefined;
  /** Default 50. */
  limit?: number | undefined;
}

/** Memories newest first (a thread: in order of seq); `not_found` for a namespace never written. */
export async function listMemories(db: Queryable, options: ListOptions = {}): Promise<Memory[]> {
  if (options.namespace !== undefined) await requireNamespace(db, options.namespace);
  const result = await db.query<MemoryRow>(
    `select ${memoryColumns} from aos.memories
      where ($1::text is null or namespace = $1) and ($2::text is null or kind = $2) and ($3::text is null or thread = $3)
      order by case when $3::text is null then null else seq end, at desc, id desc
      limit $4`,
    [options.namespace ?? null, options.kind ?? null, options.thread ?? null, options.limit ?? 50],
  );
  return result.rows.map(toMemory);
}

/** Forgets (deletes) the memories with these external ids in `namespace`; returns the ids that were there. */
export async function forgetMemories(
  db: Queryable,
  namespace: string,
  ids: readonly string[],
): Promise<string[]> {
  await requireNamespace(db, namespace);
  const deleted = await db.query<{ external_id: string }>(
    'delete from aos.memories where namespace = $1 and external_id = any($2) returning external_id',
    [namespace, ids],
  );
  const gone = new Set(deleted.rows.map((row) => row.external_id));
  return ids.filter((id) => gone.has(id));
}
