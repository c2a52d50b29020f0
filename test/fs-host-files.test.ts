/**
 * Host files read by `aos fs import` (issue 12, finding 9): nothing is read once the
 * transaction is open, so a directory swapped for a link, or a file swapped for a FIFO,
 * while the import runs is neither followed nor blocked on.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { contentBytes } from '../src/fs/file-version.js';
import { NotRegularFileError, readRegularFile } from '../src/fs/host-files.js';
import { importTree } from '../src/fs/import-tree.js';
import { readFile } from '../src/fs/read-file.js';
import type { Db } from '../src/storage/db.js';
import { migratedDatabases, testDatabases } from './support/databases.js';

/** `db`, running `beforeTransaction` when a transaction is about to open. */
function swappingAtTransaction(db: Db, beforeTransaction: () => void): Db {
  return {
    ...db,
    transaction: (work) => {
      beforeTransaction();
      return db.transaction(work);
    },
  };
}

describe('reading a host file', () => {
  it('does not block on a FIFO, nor follow a link', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'aos-host-'));
    execFileSync('mkfifo', [join(folder, 'pipe')]);
    symlinkSync('/etc/hostname', join(folder, 'link'));
    await expect(readRegularFile(join(folder, 'pipe'), 'pipe', 100)).rejects.toBeInstanceOf(
      NotRegularFileError,
    );
    await expect(readRegularFile(join(folder, 'link'), 'link', 100)).rejects.toBeInstanceOf(
      NotRegularFileError,
    );
  });
});

for (const database of testDatabases) {
  describe(`fs import against files changed while it runs (${database.name})`, () => {
    const fresh = migratedDatabases(database);

    it('stores what it walked, not a file reached through a directory swapped for a link', async () => {
      const db = await fresh();
      const root = mkdtempSync(join(tmpdir(), 'aos-import-'));
      const outside = mkdtempSync(join(tmpdir(), 'aos-outside-'));
      mkdirSync(join(root, 'sub'));
      writeFileSync(join(root, 'sub', 'a.txt'), 'inside');
      writeFileSync(join(outside, 'a.txt'), 'SECRET from outside the tree');
      const swapped = swappingAtTransaction(db, () => {
        renameSync(join(root, 'sub'), join(root, 'old'));
        symlinkSync(outside, join(root, 'sub'));
      });
      await importTree(swapped, { namespace: 'owner:local', directory: root });
      const stored = await readFile(db, { namespace: 'owner:local', path: '/sub/a.txt' });
      expect(contentBytes(stored).toString()).toBe('inside');
    });

    it('does not block on a file swapped for a FIFO', async () => {
      const db = await fresh();
      const root = mkdtempSync(join(tmpdir(), 'aos-import-'));
      writeFileSync(join(root, 'a.txt'), 'a');
      writeFileSync(join(root, 'b.txt'), 'b');
      const swapped = swappingAtTransaction(db, () => {
        rmSync(join(root, 'b.txt'));
        execFileSync('mkfifo', [join(root, 'b.txt')]);
      });
      const report = await importTree(swapped, { namespace: 'owner:local', directory: root });
      expect(report.files.map((file) => file.path)).toEqual(['/a.txt', '/b.txt']);
    }, 20_000);

    it('skips a FIFO found by the walk, without blocking', async () => {
      const db = await fresh();
      const root = mkdtempSync(join(tmpdir(), 'aos-import-'));
      writeFileSync(join(root, 'a.txt'), 'a');
      execFileSync('mkfifo', [join(root, 'pipe')]);
      const report = await importTree(db, { namespace: 'owner:local', directory: root });
      expect(report.files.map((file) => file.path)).toEqual(['/a.txt']);
      expect(report.skipped).toEqual([{ source: join(root, 'pipe'), reason: 'not a regular file' }]);
    });
  });
}
