/**
 * A memory: one remembered text in a namespace, with its kind, time, place in a
 * conversation, importance and access counts. The row type (snake_case, as stored) and
 * the domain object (camelCase, as returned) and the one mapping between them.
 */
import { z } from 'zod';

/** What a memory records: something that happened, a fact, how to do something, or evicted context. */
export const memoryKinds = ['episode', 'fact', 'procedure', 'page'] as const;
export type MemoryKind = (typeof memoryKinds)[number];
export const memoryKindSchema = z.enum(memoryKinds);

/** A memory as callers see it (`id` is the external id, unique in its namespace). */
export const memorySchema = z.object({
  namespace: z.string(),
  id: z.string(),
  kind: memoryKindSchema,
  text: z.string(),
  time: z.string().describe('when it happened (ISO 8601)'),
  thread: z.string().nullable(),
  seq: z.number().int().nullable(),
  importance: z.number(),
  accessCount: z.number().int(),
  lastAccessedAt: z.string().nullable(),
  sourcePid: z.number().int().nullable(),
  meta: z.record(z.string(), z.unknown()),
  embeddingModel: z.string().nullable().describe('the model its embedding came from, e.g. hash-v1/256'),
  createdAt: z.string(),
});
export type Memory = z.infer<typeof memorySchema>;

/** A row of aos.memories, without the embedding and the tsvector. */
export interface MemoryRow {
  id: number;
  namespace: string;
  external_id: string;
  kind: MemoryKind;
  text: string;
  source_pid: number | null;
  at: Date;
  thread: string | null;
  seq: number | null;
  importance: number;
  access_count: number;
  last_accessed_at: Date | null;
  meta: Record<string, unknown>;
  embedding_model: string | null;
  created_at: Date;
}

/** The columns of a MemoryRow, for select lists (prefix them with an alias as needed). */
export const memoryColumns =
  'id, namespace, external_id, kind, text, source_pid, at, thread, seq, importance, access_count, last_accessed_at, meta, embedding_model, created_at';

/** A row as a Memory. */
export function toMemory(row: MemoryRow): Memory {
  return {
    namespace: row.namespace,
    id: row.external_id,
    kind: row.kind,
    text: row.text,
    time: new Date(row.at).toISOString(),
    thread: row.thread,
    seq: row.seq,
    importance: Number(row.importance),
    accessCount: row.access_count,
    lastAccessedAt: row.last_accessed_at === null ? null : new Date(row.last_accessed_at).toISOString(),
    sourcePid: row.source_pid,
    meta: row.meta,
    embeddingModel: row.embedding_model,
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** What a caller gives to remember something; only `text` is required. */
export interface NewMemory {
  text: string;
  /** Unique in the namespace; default "m" and a number. */
  id?: string | undefined;
  /** Default 'episode'. */
  kind?: MemoryKind | undefined;
  /** When it happened; default now. */
  time?: Date | string | number | undefined;
  thread?: string | undefined;
  seq?: number | undefined;
  /** 0..1, default 0.5. */
  importance?: number | undefined;
  meta?: Record<string, unknown> | undefined;
  sourcePid?: number | undefined;
}
