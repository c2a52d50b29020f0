/**
 * Verifies the audit log: chains what is committed and pending first, then checks the
 * hash chain, then every signed checkpoint against it.
 */
import type { Queryable } from '../storage/db.js';
import { type ChainCheck, drainAudit, unchainedCount, verifyChain } from './audit.js';
import {
  type CheckpointConfig,
  checkpointSigned,
  loadOrCreateKey,
  readCheckpoints,
} from './audit-checkpoints.js';
import { verifyContent } from './verify-content.js';

/** The result of `aos audit verify`. */
export interface AuditVerification extends ChainCheck {
  /**
   * Checkpoints of this database read (`checked`), the latest entry one vouches for, and
   * checkpoints of other databases found in the same store (ignored).
   */
  checkpoints: { checked: number; latestId: number | null; otherDatabases: number };
  /**
   * Whether a signed checkpoint covers the chain's head: without one, entries after the
   * latest checkpoint could have been rewritten with fresh hashes undetected.
   */
  covered: boolean;
  /**
   * Entries committed but not chained when the check ended (appended while it ran):
   * not covered by the check, and not yet tamper-evident.
   */
  unchained: number;
  /** Entries whose digests were recomputed from the journal and process rows they describe. */
  content: { checked: number };
  firstBad?: { id: number; reason: string; pid?: number | null };
}

/**
 * Chains pending entries, checks the chain, then that each checkpoint is signed,
 * present, and unchanged; reports the first problem.
 */
export async function verifyAudit(db: Queryable, config: CheckpointConfig): Promise<AuditVerification> {
  await drainAudit(db);
  const checked = await verifyChain(db);
  const chain = { ...checked, unchained: await unchainedCount(db) };
  const stored = await readCheckpoints(config);
  // A store may hold the checkpoints of several databases: each is checked against its own.
  const checkpoints = stored.filter(
    (checkpoint) =>
      config.database === undefined ||
      checkpoint.database === undefined ||
      checkpoint.database === config.database,
  );
  const latestId = checkpoints.reduce<number | null>(
    (latest, checkpoint) => Math.max(latest ?? 0, checkpoint.id),
    null,
  );
  const summary = {
    checked: checkpoints.length,
    latestId,
    otherDatabases: stored.length - checkpoints.length,
  };
  const covered = chain.head.id === 0 || (latestId !== null && latestId >= chain.head.id);
  if (!chain.ok) return { ...chain, checkpoints: summary, covered: false, content: { checked: 0 } };
  const key = checkpoints.length === 0 ? undefined : loadOrCreateKey(config.keyFile);
  const vouched = await db.query<{ id: number; hash: Buffer }>(
    'select id, hash from aos.audit where id = any($1)',
    [checkpoints.map((checkpoint) => checkpoint.id)],
  );
  const hashes = new Map(vouched.rows.map((row) => [row.id, Buffer.from(row.hash).toString('hex')]));
  for (const checkpoint of [...checkpoints].sort((left, right) => left.id - right.id)) {
    const fail = (id: number, reason: string): AuditVerification => ({
      ...chain,
      ok: false,
      firstBad: { id, reason },
      checkpoints: summary,
      covered: false,
      content: { checked: 0 },
    });
    if (!checkpointSigned(checkpoint, key!)) {
      return fail(
        checkpoint.id,
        `the checkpoint for entry ${checkpoint.id} is not signed by ${config.keyFile}`,
      );
    }
    const hash = hashes.get(checkpoint.id);
    if (hash === undefined) {
      return fail(
        chain.head.id + 1,
        `the log ends at entry ${chain.head.id}, but a checkpoint vouches for entry ${checkpoint.id}: the tail was cut`,
      );
    }
    if (hash !== checkpoint.hash) {
      return fail(
        checkpoint.id,
        `entry ${checkpoint.id} differs from its signed checkpoint: the history was rewritten`,
      );
    }
  }
  // The chain vouches for digests; check that the data they describe still has them.
  const content = await verifyContent(db);
  const mismatch = content.mismatches[0];
  if (mismatch !== undefined) {
    return {
      ...chain,
      ok: false,
      firstBad: { id: mismatch.id, pid: mismatch.pid, reason: mismatch.what },
      checkpoints: summary,
      covered,
      content: { checked: content.checked },
    };
  }
  return { ...chain, checkpoints: summary, covered, content: { checked: content.checked } };
}
