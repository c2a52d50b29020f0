/**
 * The audit log: append-only entries in aos.audit, each hash-chained to the one
 * before (sha256 over the previous hash and the entry's stored text). Appends are
 * plain inserts into aos.audit_pending; a chainer (aos.chain_audit) moves committed
 * ones into the chain in batches. Verification recomputes the chain here, from the
 * raw columns, trusting nothing in the database.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { Queryable } from '../storage/db.js';

/** What an audit entry records. */
export interface AuditRecord {
  /** What happened: syscall, model-call, tool-call, signal, exit, policy, ... */
  kind: string;
  pid?: number | null;
  /** Who did it: "user:local", "process:12", "worker:host:pid". */
  actor: string;
  data: unknown;
}

/** An entry as stored. */
export interface AuditEntry {
  id: number;
  at: string;
  kind: string;
  pid: number | null;
  actor: string;
  data: unknown;
  hash: string;
}

interface AuditRow {
  id: number;
  at: string;
  kind: string;
  pid: number | null;
  actor: string;
  data: string;
  prev_hash: Buffer;
  hash: Buffer;
}

/** Appends an entry in the caller's transaction (or on its own); it is chained after that commits. */
export async function appendAudit(db: Queryable, record: AuditRecord): Promise<void> {
  await db.query('select aos.audit_append($1, $2, $3, $4)', [
    record.kind,
    record.pid ?? null,
    record.actor,
    canonicalJson(record.data ?? null),
  ]);
}

/** The hash of an entry, as aos.chain_audit computes it. */
export function entryHash(previous: Buffer, row: Omit<AuditRow, 'prev_hash' | 'hash'>): Buffer {
  const text = [row.id, row.at, row.kind, row.pid ?? '', row.actor, row.data].join('\n');
  return createHash('sha256').update(previous).update(text, 'utf8').digest();
}

/** What one chainer call may take: the batch size, and whether to wait for another chainer. */
export interface ChainOptions {
  /** Entries chained per transaction at most; default 10,000. */
  limit?: number;
  /** Wait for a chainer at work to finish (default true); false returns 0 at once instead. */
  wait?: boolean;
}

/** Chains up to `limit` committed pending entries in one transaction; returns how many. */
export async function chainAudit(db: Queryable, options: ChainOptions = {}): Promise<number> {
  const result = await db.query<{ chained: number }>('select aos.chain_audit($1, $2) as chained', [
    options.limit ?? 10_000,
    options.wait ?? true,
  ]);
  return Number(result.rows[0]?.chained ?? 0);
}

/**
 * Chains every entry committed before the call (batch after batch, until a batch comes
 * back short, or as many batches as there were pending entries at the start, so that
 * appends arriving faster than the chainer cannot keep it here forever); returns how many.
 */
export async function drainAudit(db: Queryable, options: ChainOptions = {}): Promise<number> {
  const limit = options.limit ?? 10_000;
  const batches = Math.ceil((await unchainedCount(db)) / limit) + 1;
  let chained = 0;
  for (let batch = 0; batch < batches; batch++) {
    const count = await chainAudit(db, { ...options, limit });
    chained += count;
    if (count < limit) break;
  }
  return chained;
}

/** Committed entries not chained yet (not yet tamper-evident). */
export async function unchainedCount(db: Queryable): Promise<number> {
  const result = await db.query<{ count: number }>('select count(*)::int as count from aos.audit_pending');
  return Number(result.rows[0]?.count ?? 0);
}

/** The chain's first previous hash. */
export const genesisHash = Buffer.alloc(32);

/** The result of checking the chain. */
export interface ChainCheck {
  ok: boolean;
  entries: number;
  head: { id: number; hash: string };
  firstBad?: { id: number; reason: string };
}

/** Recomputes the whole chain in id order, in batches; reports the first entry that does not fit. */
export async function verifyChain(db: Queryable, batchSize = 20_000): Promise<ChainCheck> {
  let previousHash: Buffer = genesisHash;
  let expectedId = 1;
  let entries = 0;
  for (;;) {
    const batch = await db.query<AuditRow>(
      'select id, at, kind, pid, actor, data, prev_hash, hash from aos.audit where id >= $1 order by id limit $2',
      [expectedId, batchSize],
    );
    for (const row of batch.rows) {
      const bad = (reason: string): ChainCheck => ({
        ok: false,
        entries,
        head: { id: expectedId - 1, hash: previousHash.toString('hex') },
        firstBad: { id: row.id, reason },
      });
      if (row.id !== expectedId) {
        const missing =
          row.id - 1 === expectedId ? `entry ${expectedId} is` : `entries ${expectedId} to ${row.id - 1} are`;
        return {
          ...bad(`${missing} missing (deleted, or ids rewritten)`),
          firstBad: { id: expectedId, reason: `${missing} missing (deleted, or ids rewritten)` },
        };
      }
      if (!Buffer.from(row.prev_hash).equals(previousHash)) {
        return bad(
          'its previous-hash does not match the entry before it (entries removed, inserted or reordered)',
        );
      }
      const recomputed = entryHash(previousHash, row);
      if (!recomputed.equals(Buffer.from(row.hash))) {
        return bad('its content does not match its hash (the entry, or its hash, was changed)');
      }
      previousHash = recomputed;
      expectedId += 1;
      entries += 1;
    }
    if (batch.rows.length < batchSize) break;
  }
  const extra = await db.query<{ id: number }>('select id from aos.audit where id < 1 order by id limit 1');
  if (extra.rows[0] !== undefined) {
    return {
      ok: false,
      entries,
      head: { id: expectedId - 1, hash: previousHash.toString('hex') },
      firstBad: { id: extra.rows[0].id, reason: 'an entry with an id outside the chain was inserted' },
    };
  }
  return { ok: true, entries, head: { id: expectedId - 1, hash: previousHash.toString('hex') } };
}

/** Filters for reading the log. */
export interface AuditFilter {
  pid?: number | undefined;
  kind?: string | undefined;
  /** ISO times, inclusive. */
  since?: string | undefined;
  until?: string | undefined;
  afterId?: number | undefined;
  limit?: number | undefined;
}

/** Entries matching the filter, in id order. */
export async function listAudit(db: Queryable, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const result = await db.query<AuditRow>(
    `select id, at, kind, pid, actor, data, prev_hash, hash from aos.audit
      where ($1::bigint is null or pid = $1) and ($2::text is null or kind = $2)
        and ($3::timestamptz is null or at::timestamptz >= $3) and ($4::timestamptz is null or at::timestamptz <= $4)
        and id > $5
      order by id limit $6`,
    [
      filter.pid ?? null,
      filter.kind ?? null,
      filter.since ?? null,
      filter.until ?? null,
      filter.afterId ?? 0,
      filter.limit ?? 1000,
    ],
  );
  return result.rows.map((row) => ({
    id: row.id,
    at: row.at,
    kind: row.kind,
    pid: row.pid,
    actor: row.actor,
    data: JSON.parse(row.data),
    hash: Buffer.from(row.hash).toString('hex'),
  }));
}
