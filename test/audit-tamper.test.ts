/**
 * The tamper suite: each way of changing the audit log behind aos's back is detected,
 * at the right entry: edited payload, edited hash, a deleted entry, a forged one,
 * two reordered, a cut tail, and an edit by a superuser who disabled the triggers.
 * And the chainer: entries appended by transactions that commit out of order are each
 * chained exactly once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import type { Db } from '../src/storage/db.js';
import { migrate } from '../src/storage/migrate.js';
import {
  appendAudit,
  chainAudit,
  drainAudit,
  entryHash,
  unchainedCount,
  verifyChain,
} from '../src/trust/audit.js';
import { type CheckpointConfig, writeCheckpoint } from '../src/trust/audit-checkpoints.js';
import { verifyAudit } from '../src/trust/verify-audit.js';
import { rehashAudit } from './support/audit.js';
import { testDatabases } from './support/databases.js';

describe.each(testDatabases)('audit log tampering on $name', (database) => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  /** A log of ten chained entries, and a checkpoint config in a fresh folder. */
  async function logOfTen(): Promise<{ db: Db; config: CheckpointConfig }> {
    const created = await database.create();
    drop = created.drop;
    await migrate(created.db);
    for (let index = 1; index <= 10; index++) {
      await appendAudit(created.db, {
        kind: 'test',
        pid: index,
        actor: 'user:test',
        data: { index, note: `entry ${index}` },
      });
    }
    expect(await drainAudit(created.db)).toBe(10);
    const folder = mkdtempSync(join(tmpdir(), 'aos-audit-'));
    return {
      db: created.db,
      config: { keyFile: join(folder, 'key.pem'), target: join(folder, 'checkpoints.jsonl') },
    };
  }

  /** Runs `sql` with the append-only triggers off, as a superuser can. */
  async function behindTheTriggers(db: Db, ...statements: string[]) {
    await db.transaction(async (tx) => {
      await tx.query('alter table aos.audit disable trigger user');
      for (const statement of statements) await tx.query(statement);
      await tx.query('alter table aos.audit enable trigger user');
    });
  }

  it('verifies an untouched log, and its triggers refuse update, delete and truncate', async () => {
    const { db, config } = await logOfTen();
    await writeCheckpoint(db, config);
    const check = await verifyAudit(db, config);
    expect(check).toMatchObject({
      ok: true,
      entries: 10,
      head: { id: 10 },
      checkpoints: { checked: 1, latestId: 10 },
    });
    for (const statement of [
      "update aos.audit set kind = 'x' where id = 3",
      'delete from aos.audit where id = 3',
      'truncate aos.audit',
    ]) {
      const error = await db.query(statement).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AosError);
      expect((error as AosError).code).toBe('forbidden');
    }
  });

  it('keeps appended entries pending until the chainer runs, and verify chains them first', async () => {
    const { db, config } = await logOfTen();
    await appendAudit(db, { kind: 'test', actor: 'user:test', data: { late: 1 } });
    await appendAudit(db, { kind: 'test', actor: 'user:test', data: { late: 2 } });
    expect(await unchainedCount(db)).toBe(2);
    expect(await verifyChain(db)).toMatchObject({ ok: true, entries: 10 });
    expect(await verifyAudit(db, config)).toMatchObject({
      ok: true,
      entries: 12,
      head: { id: 12 },
      unchained: 0,
    });
    const late = await db.query<{ id: number; data: string }>('select id, data from aos.audit where id > 10');
    expect(late.rows).toEqual([
      { id: 11, data: '{"late":1}' },
      { id: 12, data: '{"late":2}' },
    ]);
    expect(await chainAudit(db)).toBe(0);
  });

  it('refuses changes to pending entries, and writes to the chain except by the chainer', async () => {
    const { db } = await logOfTen();
    await appendAudit(db, { kind: 'test', actor: 'user:test', data: { pending: true } });
    for (const statement of [
      "update aos.audit_pending set kind = 'x'",
      'delete from aos.audit_pending',
      'truncate aos.audit_pending',
      `insert into aos.audit (id, at, kind, pid, actor, data, prev_hash, hash)
       values (11, '2026-01-01T00:00:00.000000Z', 'test', null, 'user:mallory', '{}', '\\x00', '\\x00')`,
    ]) {
      const error = await db.query(statement).catch((caught: unknown) => caught);
      expect(error, statement).toBeInstanceOf(AosError);
      expect((error as AosError).code, statement).toBe('forbidden');
    }
    expect(await unchainedCount(db)).toBe(1);
    expect(await drainAudit(db)).toBe(1);
  });

  it('never chains the entries of a transaction that rolled back', async () => {
    const { db, config } = await logOfTen();
    await db
      .transaction(async (tx) => {
        await appendAudit(tx, { kind: 'test', actor: 'user:test', data: { undone: true } });
        throw new Error('roll back');
      })
      .catch(() => undefined);
    await appendAudit(db, { kind: 'test', actor: 'user:test', data: { kept: true } });
    expect(await verifyAudit(db, config)).toMatchObject({ ok: true, entries: 11, unchained: 0 });
    const kept = await db.query<{ data: string }>('select data from aos.audit where id = 11');
    expect(kept.rows[0]?.data).toBe('{"kept":true}');
  });

  it.skipIf(database.name === 'pglite')(
    'chains entries of concurrent transactions that commit out of order, each exactly once',
    async () => {
      const { db, config } = await logOfTen();
      // Scripted: T1 appends first (the lower seq) but commits after T2; a chainer runs in between.
      let releaseFirst!: () => void;
      const firstMayCommit = new Promise<void>((resolve) => {
        releaseFirst = resolve;
      });
      let firstAppended!: () => void;
      const firstHasAppended = new Promise<void>((resolve) => {
        firstAppended = resolve;
      });
      const first = db.transaction(async (tx) => {
        await appendAudit(tx, { kind: 'order', actor: 'user:test', data: { tx: 'T1', n: 1 } });
        firstAppended();
        await firstMayCommit;
        await appendAudit(tx, { kind: 'order', actor: 'user:test', data: { tx: 'T1', n: 2 } });
      });
      await firstHasAppended;
      await db.transaction(async (tx) => {
        await appendAudit(tx, { kind: 'order', actor: 'user:test', data: { tx: 'T2', n: 1 } });
      });
      expect(await chainAudit(db)).toBe(1);
      releaseFirst();
      await first;
      expect(await chainAudit(db)).toBe(2);
      const ordered = await db.query<{ id: number; data: string }>(
        "select id, data from aos.audit where kind = 'order' order by id",
      );
      expect(ordered.rows).toEqual([
        { id: 11, data: '{"n":1,"tx":"T2"}' },
        { id: 12, data: '{"n":1,"tx":"T1"}' },
        { id: 13, data: '{"n":2,"tx":"T1"}' },
      ]);

      // Many: 40 transactions of 3 entries each, sleeping between appends so that they
      // interleave and commit in no particular order, some rolling back, while two
      // chainers (one waiting, one skipping when busy) run all along.
      const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      let appending = true;
      const chainers = [true, false].map(async (wait) => {
        let chained = 0;
        while (appending) {
          chained += await chainAudit(db, { wait, limit: 7 });
          await sleep(1);
        }
        return chained;
      });
      const transactions = Array.from({ length: 40 }, (_, tx) =>
        db
          .transaction(async (q) => {
            for (let n = 0; n < 3; n++) {
              await appendAudit(q, { kind: 'many', actor: 'user:test', data: { tx, n } });
              await sleep(Math.floor(Math.random() * 15));
            }
            if (tx % 10 === 9) throw new Error('roll back');
          })
          .catch(() => undefined),
      );
      await Promise.all(transactions);
      appending = false;
      const chainedWhileAppending = (await Promise.all(chainers)).reduce((sum, count) => sum + count, 0);
      const chainedAfter = await drainAudit(db);
      expect(chainedWhileAppending + chainedAfter).toBe(36 * 3);
      const many = await db.query<{ data: string }>("select data from aos.audit where kind = 'many'");
      const keys = many.rows.map((row) => {
        const data = JSON.parse(row.data) as { tx: number; n: number };
        return `${data.tx}:${data.n}`;
      });
      const expected = Array.from({ length: 40 }, (_, tx) => tx)
        .filter((tx) => tx % 10 !== 9)
        .flatMap((tx) => [0, 1, 2].map((n) => `${tx}:${n}`));
      expect([...keys].sort()).toEqual([...expected].sort());
      expect(await verifyAudit(db, config)).toMatchObject({
        ok: true,
        entries: 13 + 36 * 3,
        head: { id: 13 + 36 * 3 },
        unchained: 0,
      });
    },
  );

  it('detects an edited payload', async () => {
    const { db } = await logOfTen();
    await behindTheTriggers(
      db,
      `update aos.audit set data = '{"index":4,"note":"nothing happened"}' where id = 4`,
    );
    expect((await verifyChain(db)).firstBad).toEqual({
      id: 4,
      reason: expect.stringMatching(/does not match its hash/),
    });
  });

  it('detects an edited hash', async () => {
    const { db } = await logOfTen();
    await behindTheTriggers(db, `update aos.audit set hash = sha256('forged'::bytea) where id = 6`);
    expect((await verifyChain(db)).firstBad?.id).toBe(6);
  });

  it('detects an entry deleted from the middle', async () => {
    const { db } = await logOfTen();
    await behindTheTriggers(db, 'delete from aos.audit where id = 5');
    expect((await verifyChain(db)).firstBad).toEqual({
      id: 5,
      reason: expect.stringMatching(/entry 5 is missing/),
    });
  });

  it('detects a forged entry slipped into the middle', async () => {
    const { db } = await logOfTen();
    const before = await db.query<{ hash: Buffer }>('select hash from aos.audit where id = 6');
    const forged = {
      id: 7,
      at: '2026-01-01T00:00:00.000000Z',
      kind: 'test',
      pid: 99,
      actor: 'user:mallory',
      data: '{"forged":true}',
    };
    const hash = entryHash(Buffer.from(before.rows[0]!.hash), forged);
    // Make room at 7 by moving 7..10 up one, then insert a correctly hashed forgery after entry 6.
    await behindTheTriggers(
      db,
      'update aos.audit set id = id + 100 where id >= 7',
      'update aos.audit set id = id - 99 where id >= 107',
      `insert into aos.audit (id, at, kind, pid, actor, data, prev_hash, hash)
       values (7, '${forged.at}', 'test', 99, 'user:mallory', '${forged.data}',
               '\\x${Buffer.from(before.rows[0]!.hash).toString('hex')}', '\\x${hash.toString('hex')}')`,
    );
    // The forgery chains to 6, but the real entry after it no longer chains to the forgery.
    expect((await verifyChain(db)).firstBad).toEqual({
      id: 8,
      reason: expect.stringMatching(/previous-hash/),
    });
  });

  it('detects two entries swapped', async () => {
    const { db } = await logOfTen();
    await behindTheTriggers(
      db,
      'update aos.audit set id = -3 where id = 3',
      'update aos.audit set id = 3 where id = 4',
      'update aos.audit set id = 4 where id = -3',
    );
    expect((await verifyChain(db)).firstBad?.id).toBe(3);
  });

  it('detects a cut tail through the signed checkpoint', async () => {
    const { db, config } = await logOfTen();
    await writeCheckpoint(db, config);
    await behindTheTriggers(db, 'delete from aos.audit where id > 7');
    await db.query('update aos.audit_head set id = 7, hash = (select hash from aos.audit where id = 7)');
    expect((await verifyChain(db)).ok).toBe(true);
    const check = await verifyAudit(db, config);
    expect(check.ok).toBe(false);
    expect(check.firstBad).toEqual({
      id: 8,
      reason: expect.stringMatching(/ends at entry 7.*entry 10.*cut/),
    });
  });

  it('detects a superuser who disabled the triggers and rewrote history with fresh hashes', async () => {
    const { db, config } = await logOfTen();
    await writeCheckpoint(db, config);
    await db.exec('alter table aos.audit disable trigger all');
    await db.query(`update aos.audit set data = '{"index":2,"note":"rewritten"}' where id = 2`);
    // Recompute every hash from entry 2 on, so the chain itself is consistent again.
    await rehashAudit(db);
    await db.exec('alter table aos.audit enable trigger all');
    expect((await verifyChain(db)).ok).toBe(true);
    const check = await verifyAudit(db, config);
    expect(check.ok).toBe(false);
    expect(check.firstBad).toEqual({
      id: 10,
      reason: expect.stringMatching(/differs from its signed checkpoint/),
    });
  });

  it('rejects a checkpoint signed with another key', async () => {
    const { db, config } = await logOfTen();
    await writeCheckpoint(db, config);
    const other = { ...config, keyFile: join(mkdtempSync(join(tmpdir(), 'aos-key-')), 'other.pem') };
    const check = await verifyAudit(db, other);
    expect(check.firstBad?.reason).toMatch(/not signed by/);
  });
});
