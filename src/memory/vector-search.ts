/**
 * Vector retrieval. Embeddings are stored as real[] (unit length, so the inner product is
 * the cosine). Where pgvector exists, an HNSW index per embedding model is created at run
 * time (memories_hnsw_*, a partial index on embedding::vector(D)) and searched; elsewhere,
 * or for vectors too long for HNSW, an exact scan computes the inner product in SQL.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from '../storage/db.js';
import {
  type Candidate,
  type CandidateRow,
  candidateColumns,
  changesColumn,
  toCandidate,
} from './candidate.js';
import { inTransaction } from './in-transaction.js';
import type { MemoryKind } from './memory.js';

/** pgvector's HNSW indexes take vectors up to this length. */
const hnswMaxDimensions = 2000;
/** HNSW build parameters (pgvector's defaults; see docs/benchmarks.md for what they cost on PGlite). */
const hnswM = 16;
const hnswEfConstruction = 64;
// Any constant; the same in every aos process.
const vectorIndexLockKey = 7_241_005;

/** Per database handle: embedding model → whether an HNSW index serves it. */
const indexed = new WeakMap<object, Map<string, Promise<boolean>>>();

/** The name of the HNSW index of an embedding model (identifiers are limited to 63 bytes). */
export function vectorIndexName(embeddingModel: string): string {
  return `memories_hnsw_${createHash('sha256').update(embeddingModel).digest('hex').slice(0, 16)}`;
}

/** Whether the vector extension is installed, installing it when it is available (PGlite has it). */
async function hasPgvector(db: Queryable): Promise<boolean> {
  const found = await db.query<{ installed: boolean; available: boolean }>(
    `select exists (select 1 from pg_extension where extname = 'vector') as installed,
            exists (select 1 from pg_available_extensions where name = 'vector') as available`,
  );
  const { installed, available } = found.rows[0]!;
  if (installed) return true;
  // Installed only from a database handle: a failure inside a caller's transaction would abort it.
  if (!available || typeof (db as { transaction?: unknown }).transaction !== 'function') return false;
  try {
    await db.query('create extension if not exists vector');
    return true;
  } catch {
    // Not allowed to install it (a server user without the privilege): the exact scan serves.
    return false;
  }
}

/**
 * Makes sure an HNSW index serves `embeddingModel` vectors of `dimensions` when pgvector
 * exists; resolves to whether one does. Checked once per database handle and model.
 */
export function ensureVectorIndex(
  db: Queryable,
  embeddingModel: string,
  dimensions: number,
): Promise<boolean> {
  let models = indexed.get(db);
  if (models === undefined) {
    models = new Map();
    indexed.set(db, models);
  }
  let ready = models.get(embeddingModel);
  if (ready === undefined) {
    ready = createVectorIndex(db, embeddingModel, dimensions).catch((error: unknown) => {
      models.delete(embeddingModel);
      throw error;
    });
    models.set(embeddingModel, ready);
  }
  return ready;
}

async function createVectorIndex(
  db: Queryable,
  embeddingModel: string,
  dimensions: number,
): Promise<boolean> {
  if (dimensions > hnswMaxDimensions || !Number.isInteger(dimensions) || dimensions < 1) return false;
  const name = vectorIndexName(embeddingModel);
  const existing = await db.query("select 1 from pg_indexes where schemaname = 'aos' and indexname = $1", [
    name,
  ]);
  if (existing.rowCount > 0) return true;
  // Only the table's owner may index it: the kernel's role, after aos init, may not; the exact
  // scan serves until the admin makes the index (docs/memory.md).
  const owner = await db.query<{ owns: boolean }>(
    "select pg_has_role(current_user, relowner, 'USAGE') as owns from pg_class where oid = 'aos.memories'::regclass",
  );
  if (owner.rows[0]?.owns !== true) return false;
  if (!(await hasPgvector(db))) return false;
  const work = async (tx: Queryable) => {
    await tx.query('select pg_advisory_xact_lock($1)', [vectorIndexLockKey]);
    // DDL takes no parameters: format() quotes the name and the model on the server.
    const ddl = await tx.query<{ ddl: string }>(
      `select format('create index if not exists %I on aos.memories using hnsw ((embedding::vector(%s)) vector_ip_ops)
                      with (m = %s, ef_construction = %s) where embedding_model = %L',
                     $1::text, $2::int, $3::int, $4::int, $5::text) as ddl`,
      [name, dimensions, hnswM, hnswEfConstruction, embeddingModel],
    );
    await tx.exec(ddl.rows[0]!.ddl);
  };
  await inTransaction(db, work);
  return true;
}

/** What to search for. */
export interface VectorSearchOptions {
  namespaces: readonly string[];
  kinds?: readonly MemoryKind[] | undefined;
  /** The query's unit-length embedding. */
  vector: Float32Array;
  embeddingModel: string;
  limit: number;
  /** 'auto' (the index when there is one), 'index' (fail without one), or 'exact'. */
  path?: 'auto' | 'index' | 'exact';
}

/** The `limit` memories whose embeddings are nearest the query (largest inner product), best first. */
export async function vectorCandidates(db: Queryable, options: VectorSearchOptions): Promise<Candidate[]> {
  const path = options.path ?? 'auto';
  const useIndex =
    path !== 'exact' && (await ensureVectorIndex(db, options.embeddingModel, options.vector.length));
  if (path === 'index' && !useIndex) {
    throw new Error(`no HNSW index serves ${options.embeddingModel} (pgvector is not installed here)`);
  }
  // Both paths fetch a few more than asked and rank by the score rounded to 6 decimals, then
  // id: pgvector sums in float4, the scan in float8, and near-ties must not order differently.
  const wider = { ...options, limit: options.limit + 5 };
  const candidates = useIndex ? await indexScan(db, wider) : await exactScan(db, wider);
  const rounded = (score: number) => Math.round(score * 1e6);
  return candidates
    .sort((left, right) => rounded(right.score) - rounded(left.score) || left.id - right.id)
    .slice(0, options.limit);
}

async function indexScan(db: Queryable, options: VectorSearchOptions): Promise<Candidate[]> {
  const dimensions = options.vector.length;
  const kinds = options.kinds === undefined || options.kinds.length === 0 ? null : options.kinds;
  const work = async (tx: Queryable) => {
    // ef_search bounds how many neighbours the graph walk returns; iterative scans keep
    // walking when filters (namespaces, kinds) drop some (pgvector 0.8).
    await tx.query(
      "select set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'relaxed_order', true)",
      [String(Math.min(1000, Math.max(100, options.limit * 4)))],
    );
    // The expression and the predicate must be the index's own for the planner to use it;
    // D is a number from this code, not from input.
    return tx.query<CandidateRow>(
      `select ${candidateColumns}, ${changesColumn()}, -(m.embedding::vector(${dimensions}) <#> $1::vector(${dimensions})) as score
         from aos.memories m
        where m.embedding_model = $2 and m.namespace = any($3) and ($4::text[] is null or m.kind = any($4))
        order by m.embedding::vector(${dimensions}) <#> $1::vector(${dimensions}) limit $5`,
      [
        vectorText(options.vector, '[', ']'),
        options.embeddingModel,
        options.namespaces,
        kinds,
        options.limit,
      ],
    );
  };
  const result = await inTransaction(db, work);
  return result.rows.map(toCandidate);
}

async function exactScan(db: Queryable, options: VectorSearchOptions): Promise<Candidate[]> {
  const kinds = options.kinds === undefined || options.kinds.length === 0 ? null : options.kinds;
  // The inner product as a sum over the query's non-zero components, e[i] * $n: one expression
  // the executor evaluates in a single pass (unnest-and-sum per row is ~6x slower). The copy
  // (e || '{}') detoasts a long array once per row instead of once per subscript.
  const terms: string[] = [];
  const weights: number[] = [];
  options.vector.forEach((value, index) => {
    if (value !== 0) {
      weights.push(value);
      terms.push(`e[${index + 1}] * $${weights.length + 5}::float8`);
    }
  });
  if (terms.length === 0) return [];
  const result = await db.query<CandidateRow>(
    `select c.*, ${changesColumn()}
       from (select id, namespace, at, importance, thread, seq, ${terms.join(' + ')} as score
               from (select ${candidateColumns}, m.embedding || '{}'::real[] as e
                       from aos.memories m
                      where m.embedding_model = $1 and m.namespace = any($2) and ($3::text[] is null or m.kind = any($3))
                        and array_length(m.embedding, 1) = $4
                     offset 0) c
              order by score desc, id limit $5) c
       join aos.memories m on m.id = c.id
      order by c.score desc, c.id`,
    [options.embeddingModel, options.namespaces, kinds, options.vector.length, options.limit, ...weights],
  );
  return result.rows.map(toCandidate);
}

/** A vector as text: {1,2} for real[], [1,2] for pgvector; 7 significant digits are plenty for ranking. */
export function vectorText(vector: Float32Array, open = '{', close = '}'): string {
  const parts: string[] = new Array(vector.length);
  for (let index = 0; index < vector.length; index++) {
    const value = vector[index]!;
    parts[index] = value === 0 ? '0' : String(Number(value.toPrecision(7)));
  }
  return `${open}${parts.join(',')}${close}`;
}
