/**
 * Checkpoints name their database and cover what a command appended (issue 12,
 * findings 7 and 14): one store shared by two databases verifies both; a server
 * database's store is per database under the aos home, never the working directory;
 * a kernel that appended signs the head when it closes; verify says when no checkpoint
 * covers the head; and on a server, the role that owns aos.audit can disable its
 * triggers and re-hash the log, which only a checkpoint catches.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKernel } from '../src/kernel.js';
import { databaseIdentity } from '../src/storage/database-identity.js';
import type { Db } from '../src/storage/db.js';
import { migrate } from '../src/storage/migrate.js';
import { appendAudit, drainAudit } from '../src/trust/audit.js';
import { checkpointConfigOf, readCheckpoints, writeCheckpoint } from '../src/trust/audit-checkpoints.js';
import { verifyAudit } from '../src/trust/verify-audit.js';
import { rehashAudit } from './support/audit.js';
import { postgresDatabase, testDatabases } from './support/databases.js';

const hasServer = process.env.AOS_TEST_DATABASE_URL !== undefined;

async function withEntries(db: Db, count: number, note = 'entry'): Promise<void> {
  for (let index = 1; index <= count; index++) {
    await appendAudit(db, { kind: 'test', pid: index, actor: 'user:test', data: { index, note } });
  }
  await drainAudit(db);
}

describe.each(testDatabases)('audit checkpoints on $name', (database) => {
  const drops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const drop of drops.splice(0)) await drop();
  });
  async function fresh(): Promise<Db> {
    const created = await database.create();
    drops.push(created.drop);
    await migrate(created.db);
    return created.db;
  }

  it('keeps the checkpoints of two databases in one store apart', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'aos-checkpoints-'));
    const shared = { keyFile: join(folder, 'key.pem'), target: join(folder, 'checkpoints.jsonl') };
    const first = await fresh();
    const second = await fresh();
    await withEntries(first, 3, 'first');
    await withEntries(second, 5, 'second');
    const firstConfig = { ...shared, database: await databaseIdentity(first) };
    const secondConfig = { ...shared, database: await databaseIdentity(second) };
    expect(await writeCheckpoint(first, firstConfig)).toMatchObject({ database: firstConfig.database });
    await writeCheckpoint(second, secondConfig);
    expect(await verifyAudit(first, firstConfig)).toMatchObject({
      ok: true,
      covered: true,
      checkpoints: { checked: 1, latestId: 3, otherDatabases: 1 },
    });
    expect(await verifyAudit(second, secondConfig)).toMatchObject({
      ok: true,
      checkpoints: { checked: 1, latestId: 5, otherDatabases: 1 },
    });
    // The database's name is signed: a checkpoint moved to another database fails its signature.
    const [signed] = await readCheckpoints(firstConfig);
    expect(signed!.database).toBe(firstConfig.database);
  });

  it('keeps a server database store per database in the aos home, the embedded one in its home', async () => {
    const db = await fresh();
    const home = mkdtempSync(join(tmpdir(), 'aos-home-'));
    const saved = process.env.AOS_AUDIT_CHECKPOINTS;
    delete process.env.AOS_AUDIT_CHECKPOINTS;
    try {
      const config = await checkpointConfigOf(db, home);
      const identity = await databaseIdentity(db);
      expect(config.database).toBe(identity);
      expect(config.target).toBe(
        database.name === 'postgres'
          ? join(home, 'audit', identity, 'checkpoints.jsonl')
          : join(home, 'audit-checkpoints.jsonl'),
      );
    } finally {
      if (saved !== undefined) process.env.AOS_AUDIT_CHECKPOINTS = saved;
    }
    if (database.name === 'postgres') {
      const saved = process.env.AOS_HOME;
      process.env.AOS_HOME = home;
      try {
        const kernel = await createKernel({ db, migrate: false });
        expect(kernel.home).toBe(home);
      } finally {
        if (saved === undefined) delete process.env.AOS_HOME;
        else process.env.AOS_HOME = saved;
      }
    }
  });

  it('signs the head when a kernel that appended closes, and says unverified when no checkpoint covers it', async () => {
    const created = await database.create();
    drops.push(created.drop);
    await migrate(created.db);
    const home = mkdtempSync(join(tmpdir(), 'aos-home-'));
    await withEntries(created.db, 4);
    const config = await checkpointConfigOf(created.db, home);
    expect(await verifyAudit(created.db, config)).toMatchObject({ ok: true, covered: false });
    await writeCheckpoint(created.db, config);
    expect(await verifyAudit(created.db, config)).toMatchObject({ ok: true, covered: true });
    // Entries after the checkpoint, re-hashed behind the triggers: the chain is intact, but unverified.
    await withEntries(created.db, 2, 'late');
    await created.db.exec('alter table aos.audit disable trigger all');
    await created.db.query(`update aos.audit set data = '{"index":1,"note":"forged"}' where id = 6`);
    await rehashAudit(created.db);
    await created.db.exec('alter table aos.audit enable trigger all');
    expect(await verifyAudit(created.db, config)).toMatchObject({
      ok: true,
      covered: false,
      head: { id: 6 },
    });

    // A command (a kernel with checkpointOnClose, as the CLI makes) that appends signs the head as it closes.
    // The kernel closes its database; the test's drop closes it again, so give the kernel a view that does not.
    const kept = new Proxy(created.db, {
      get(target, property) {
        if (property === 'close') return async () => {};
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const kernel = await createKernel({ db: kept, home, checkpointOnClose: true });
    await kernel.call('mem add', { ns: 'test', text: 'a memory' });
    await kernel.close();
    const checkpoints = await readCheckpoints(config);
    expect(checkpoints.at(-1)!.id).toBeGreaterThan(6);
    expect(existsSync(config.target)).toBe(true);
  });
});

describe.skipIf(!hasServer)('the owner of aos.audit on a server', () => {
  if (!hasServer) console.warn('skipped: the ownership tests need AOS_TEST_DATABASE_URL');

  it('can disable the triggers and re-hash the log without being a superuser: only a checkpoint catches it', async () => {
    const created = await postgresDatabase.create();
    try {
      const db = created.db;
      await migrate(db);
      await withEntries(db, 5);
      const folder = mkdtempSync(join(tmpdir(), 'aos-owner-'));
      const config = {
        keyFile: join(folder, 'key.pem'),
        target: join(folder, 'checkpoints.jsonl'),
        database: await databaseIdentity(db),
      };
      await writeCheckpoint(db, config);
      const role = `aos_owner_${Math.random().toString(36).slice(2, 8)}`;
      await db.exec(`create role ${role} nosuperuser; grant usage on schema aos to ${role};
                     alter table aos.audit owner to ${role}`);
      try {
        await db.transaction(async (tx) => {
          await tx.query(`set local role ${role}`);
          expect(
            (
              await tx.query<{ s: boolean }>(
                'select rolsuper as s from pg_roles where rolname = current_user',
              )
            ).rows[0]!.s,
          ).toBe(false);
          await tx.query('alter table aos.audit disable trigger user');
          await tx.query(`update aos.audit set data = '{"index":2,"note":"rewritten"}' where id = 2`);
          await rehashAudit(tx);
          await tx.query('alter table aos.audit enable trigger user');
        });
        const check = await verifyAudit(db, config);
        expect(check.ok).toBe(false);
        expect(check.firstBad!.reason).toMatch(/differs from its signed checkpoint/);
      } finally {
        await db.exec(
          `alter table aos.audit owner to current_user; drop owned by ${role}; drop role ${role}`,
        );
      }
    } finally {
      await created.drop();
    }
  });
});
