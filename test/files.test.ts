/**
 * The agent file system as a library, on PGlite and on the server: versions and history,
 * tombstones, path rules, the size limit, text and binary, grep, diff, and the export
 * and import of trees (all or nothing, links not followed, no write outside the target).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { diffFiles } from '../src/fs/diff-files.js';
import { exportTree, hostPathOf } from '../src/fs/export-tree.js';
import { contentBytes } from '../src/fs/file-version.js';
import { grepFiles } from '../src/fs/grep-files.js';
import { importTree } from '../src/fs/import-tree.js';
import { listFiles } from '../src/fs/list-files.js';
import { normaliseDirectoryPath, normaliseFilePath } from '../src/fs/paths.js';
import { fileHistory, readFile } from '../src/fs/read-file.js';
import { removeFile, writeFile } from '../src/fs/write-file.js';
import type { Db } from '../src/storage/db.js';
import { migrate } from '../src/storage/migrate.js';
import { testDatabases } from './support/databases.js';

/** The error a promise rejects with (fails the test when it resolves). */
async function failure(promise: Promise<unknown>): Promise<AosError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AosError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

const binary = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe, 0x0a, 0x00]);

describe('paths', () => {
  it('normalises absolute POSIX paths and refuses the unsafe ones with a hint', () => {
    expect(normaliseFilePath('/notes/plan.md')).toBe('/notes/plan.md');
    expect(normaliseFilePath('notes/plan.md')).toBe('/notes/plan.md');
    // NFC: "é" as e + combining accent is the same path as the precomposed "é".
    expect(normaliseFilePath('/caf\u0065\u0301.md')).toBe('/caf\u00e9.md');
    expect(normaliseDirectoryPath('/notes/')).toBe('/notes');
    expect(normaliseDirectoryPath('')).toBe('/');
    const refused = [
      '/a/../b',
      '..',
      '/a/./b',
      '/a//b',
      '//',
      '/a\u0000b',
      '/a\nb',
      '/a\u007fb',
      `/${'x'.repeat(256)}`,
      `/${'abcdefgh/'.repeat(120)}x`,
    ];
    for (const path of refused) {
      let error: unknown;
      try {
        normaliseDirectoryPath(path);
      } catch (caught) {
        error = caught;
      }
      expect(error, JSON.stringify(path)).toMatchObject({ code: 'invalid_input', hint: expect.any(String) });
    }
    expect(() => normaliseFilePath('/')).toThrow(/root/);
    expect(() => normaliseFilePath('/notes/')).toThrow(/end with/);
  });

  it('refuses a host path outside the export target', () => {
    const root = mkdtempSync(join(tmpdir(), 'aos-fs-'));
    expect(hostPathOf(root, '/a/b.txt')).toBe(join(root, 'a', 'b.txt'));
    for (const outsidePath of ['/../outside.txt', '/a/../../outside.txt', '../x', '/']) {
      expect(() => hostPathOf(root, outsidePath), outsidePath).toThrow(
        expect.objectContaining({ code: 'forbidden', message: expect.stringMatching(/outside/) }),
      );
    }
  });
});

describe.each(testDatabases)('the agent file system on $name', (database) => {
  let db: Db;
  let drop: () => Promise<void>;

  beforeEach(async () => {
    const created = await database.create();
    db = created.db;
    drop = created.drop;
    await migrate(db);
  });
  afterEach(async () => {
    await drop();
  });

  it('adds a version per write, reads any version, and keeps history through a removal', async () => {
    const first = await writeFile(db, {
      namespace: 'process:7',
      path: 'notes/plan.md',
      content: 'step 1\n',
      authorPid: 7,
    });
    expect(first).toMatchObject({
      namespace: 'process:7',
      path: '/notes/plan.md',
      version: 1,
      kind: 'text',
      size: 7,
      created: true,
      authorPid: 7,
    });
    expect(first.sha256).toMatch(/^[0-9a-f]{64}$/);
    const second = await writeFile(db, {
      namespace: 'process:7',
      path: '/notes/plan.md',
      content: 'step 1\nstep 2\n',
    });
    expect(second).toMatchObject({ version: 2, created: true, authorPid: null });
    // The same content again adds nothing: the latest version is returned as is.
    const again = await writeFile(db, {
      namespace: 'process:7',
      path: '/notes/plan.md',
      content: 'step 1\nstep 2\n',
      authorPid: 9,
    });
    expect(again).toMatchObject({ version: 2, created: false, authorPid: null, sha256: second.sha256 });

    expect(await readFile(db, { namespace: 'process:7', path: '/notes/plan.md' })).toMatchObject({
      version: 2,
      content: 'step 1\nstep 2\n',
      encoding: 'utf8',
    });
    expect((await readFile(db, { namespace: 'process:7', path: '/notes/plan.md', version: 1 })).content).toBe(
      'step 1\n',
    );

    const removed = await removeFile(db, { namespace: 'process:7', path: '/notes/plan.md', authorPid: 7 });
    expect(removed).toMatchObject({ version: 3, kind: 'removed', size: 0, sha256: null });
    const gone = await failure(readFile(db, { namespace: 'process:7', path: '/notes/plan.md' }));
    expect(gone).toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/was removed \(version 3\)/),
    });
    expect(gone.hint).toMatch(/--version 2/);
    expect((await readFile(db, { namespace: 'process:7', path: '/notes/plan.md', version: 2 })).content).toBe(
      'step 1\nstep 2\n',
    );
    expect(
      (await failure(readFile(db, { namespace: 'process:7', path: '/notes/plan.md', version: 3 }))).code,
    ).toBe('not_found');
    expect((await failure(removeFile(db, { namespace: 'process:7', path: '/notes/plan.md' }))).code).toBe(
      'not_found',
    );
    expect(await listFiles(db, { namespace: 'process:7' })).toEqual([]);

    const history = await fileHistory(db, { namespace: 'process:7', path: '/notes/plan.md' });
    expect(history.map((version) => [version.version, version.kind, version.authorPid])).toEqual([
      [3, 'removed', 7],
      [2, 'text', null],
      [1, 'text', 7],
    ]);
    // Written again after the removal: version 4, and the history goes on.
    expect(
      await writeFile(db, { namespace: 'process:7', path: '/notes/plan.md', content: 'step 1\n' }),
    ).toMatchObject({ version: 4, created: true });
    const missingVersion = await failure(
      readFile(db, { namespace: 'process:7', path: '/notes/plan.md', version: 9 }),
    );
    expect(missingVersion.message).toBe('/notes/plan.md has no version 9 (the latest is 4)');
  });

  it('gives concurrent writers of one path gapless versions, each write once', async () => {
    const writes = await Promise.all(
      Array.from({ length: 16 }, (_, index) =>
        writeFile(db, { namespace: 'agent:busy', path: '/log.txt', content: `entry ${index}\n` }),
      ),
    );
    expect(writes.map((write) => write.version).sort((left, right) => left - right)).toEqual(
      Array.from({ length: 16 }, (_, index) => index + 1),
    );
    const history = await fileHistory(db, { namespace: 'agent:busy', path: '/log.txt' });
    expect(new Set(history.map((version) => version.sha256)).size).toBe(16);
    const latest = await readFile(db, { namespace: 'agent:busy', path: '/log.txt' });
    expect(latest.sha256).toBe(writes.find((write) => write.version === 16)!.sha256);
  });

  it('is not_found for an unknown namespace or file, and invalid_input for a bad path or name', async () => {
    // One at a time: promises made all at once reject before they are awaited (an unhandled rejection).
    for (const call of [
      () => readFile(db, { namespace: 'process:404', path: '/x' }),
      () => listFiles(db, { namespace: 'process:404' }),
      () => fileHistory(db, { namespace: 'process:404', path: '/x' }),
      () => grepFiles(db, { namespace: 'process:404', pattern: 'x' }),
      () => diffFiles(db, { namespace: 'process:404', path: '/x' }),
      () => removeFile(db, { namespace: 'process:404', path: '/x' }),
    ]) {
      expect(await failure(call())).toMatchObject({
        code: 'not_found',
        message: 'no namespace named "process:404"',
      });
    }
    // A failed read creates nothing.
    expect((await db.query('select 1 from aos.namespaces')).rowCount).toBe(0);
    await writeFile(db, { namespace: 'agent:a', path: '/a.txt', content: 'a' });
    expect(await failure(readFile(db, { namespace: 'agent:a', path: '/b.txt' }))).toMatchObject({
      code: 'not_found',
      message: 'no file /b.txt in namespace agent:a',
      hint: 'list the files with: aos fs ls --ns agent:a /',
    });
    expect((await failure(listFiles(db, { namespace: 'agent:a', path: '/nope' }))).code).toBe('not_found');
    expect((await failure(writeFile(db, { namespace: 'agent:a', path: '/a/../b', content: 'x' }))).code).toBe(
      'invalid_input',
    );
    expect((await failure(writeFile(db, { namespace: 'bad name', path: '/b', content: 'x' }))).code).toBe(
      'invalid_input',
    );
    // The database refuses a bad path even when the library is bypassed.
    const direct = await db
      .query(
        "insert into aos.files (namespace, path, version, kind, content, size, sha256) values ('agent:a', '/x/../y', 1, 'text', '', 0, repeat('0', 64))",
      )
      .catch((error: unknown) => error as { code?: string });
    expect((direct as { code?: string }).code).toBe('23514');
  });

  it('enforces the size limit with limit_exceeded, and keeps a file and a directory apart', async () => {
    const limit = await failure(
      writeFile(db, { namespace: 'agent:a', path: '/big.txt', content: 'x'.repeat(101), maxBytes: 100 }),
    );
    expect(limit).toMatchObject({
      code: 'limit_exceeded',
      retryable: false,
      message: '/big.txt is 101 B, over the limit of 100 B per file',
    });
    expect(limit.hint).toMatch(/AOS_FS_MAX_FILE_BYTES/);
    expect(
      await writeFile(db, { namespace: 'agent:a', path: '/ok.txt', content: 'x'.repeat(100), maxBytes: 100 }),
    ).toMatchObject({ size: 100 });
    // UTF-8 bytes count, not characters.
    expect(
      (
        await failure(
          writeFile(db, { namespace: 'agent:a', path: '/e.txt', content: 'é'.repeat(60), maxBytes: 100 }),
        )
      ).code,
    ).toBe('limit_exceeded');

    await writeFile(db, { namespace: 'agent:a', path: '/docs/a.md', content: 'a' });
    expect(await failure(writeFile(db, { namespace: 'agent:a', path: '/docs', content: 'x' }))).toMatchObject(
      { code: 'conflict', message: expect.stringMatching(/is a directory/) },
    );
    expect(
      await failure(writeFile(db, { namespace: 'agent:a', path: '/ok.txt/inner', content: 'x' })),
    ).toMatchObject({ code: 'conflict', message: expect.stringMatching(/\/ok\.txt is a file/) });
    // Once the file is removed, the name is free for a directory.
    await removeFile(db, { namespace: 'agent:a', path: '/ok.txt' });
    expect(await writeFile(db, { namespace: 'agent:a', path: '/ok.txt/inner', content: 'x' })).toMatchObject({
      version: 1,
    });
  });

  it('keeps binary content byte for byte, and text with a BOM as text', async () => {
    const written = await writeFile(db, { namespace: 'agent:a', path: '/logo.png', content: binary });
    expect(written).toMatchObject({ kind: 'binary', size: binary.length });
    const read = await readFile(db, { namespace: 'agent:a', path: '/logo.png' });
    expect(read).toMatchObject({ kind: 'binary', encoding: 'base64' });
    expect(contentBytes(read).equals(binary)).toBe(true);
    // Bytes that are valid UTF-8 are text; invalid UTF-8 is binary; a string with NUL is binary.
    expect(
      (await writeFile(db, { namespace: 'agent:a', path: '/u.txt', content: Buffer.from('\ufeffhé\n') }))
        .kind,
    ).toBe('text');
    expect((await readFile(db, { namespace: 'agent:a', path: '/u.txt' })).content).toBe('\ufeffhé\n');
    expect(
      (
        await writeFile(db, {
          namespace: 'agent:a',
          path: '/latin1.txt',
          content: Buffer.from([0x63, 0x61, 0x66, 0xe9]),
        })
      ).kind,
    ).toBe('binary');
    expect((await writeFile(db, { namespace: 'agent:a', path: '/nul.txt', content: 'a\u0000b' })).kind).toBe(
      'binary',
    );
    expect(contentBytes(await readFile(db, { namespace: 'agent:a', path: '/nul.txt' })).toString()).toBe(
      'a\u0000b',
    );
  });

  it('lists one level or recursively, with directories summed', async () => {
    await writeFile(db, { namespace: 'agent:a', path: '/notes/b.md', content: 'bb' });
    await writeFile(db, { namespace: 'agent:a', path: '/notes/deep/c.md', content: 'ccc' });
    await writeFile(db, { namespace: 'agent:a', path: '/notes-old.md', content: 'o' });
    await writeFile(db, { namespace: 'agent:a', path: '/a.md', content: 'a' });
    await writeFile(db, { namespace: 'agent:a', path: '/gone.md', content: 'g' });
    await removeFile(db, { namespace: 'agent:a', path: '/gone.md' });
    const top = await listFiles(db, { namespace: 'agent:a' });
    expect(top.map((entry) => [entry.path, entry.type, entry.size, entry.files])).toEqual([
      ['/a.md', 'file', 1, 1],
      ['/notes', 'directory', 5, 2],
      ['/notes-old.md', 'file', 1, 1],
    ]);
    expect(
      (await listFiles(db, { namespace: 'agent:a', path: '/notes' })).map((entry) => [
        entry.path,
        entry.type,
      ]),
    ).toEqual([
      ['/notes/b.md', 'file'],
      ['/notes/deep', 'directory'],
    ]);
    expect(
      (await listFiles(db, { namespace: 'agent:a', path: '/', recursive: true })).map((entry) => entry.path),
    ).toEqual(['/a.md', '/notes-old.md', '/notes/b.md', '/notes/deep/c.md']);
    expect(await listFiles(db, { namespace: 'agent:a', path: '/notes/b.md' })).toEqual([
      expect.objectContaining({ path: '/notes/b.md', type: 'file', version: 1, kind: 'text' }),
    ]);
  });

  it('greps the latest text versions with line numbers, by regex or fixed string, under a path', async () => {
    await writeFile(db, { namespace: 'agent:a', path: '/notes/a.md', content: 'alpha\nTODO: one\nbeta\n' });
    await writeFile(db, { namespace: 'agent:a', path: '/notes/b.md', content: 'old TODO\n' });
    await writeFile(db, { namespace: 'agent:a', path: '/notes/b.md', content: 'no match\ntodo: two' });
    await writeFile(db, { namespace: 'agent:a', path: '/other/c.md', content: 'TODO: three\n' });
    await writeFile(db, { namespace: 'agent:a', path: '/bin.dat', content: Buffer.from('TODO\u0000') });
    await writeFile(db, { namespace: 'agent:a', path: '/removed.md', content: 'TODO removed' });
    await removeFile(db, { namespace: 'agent:a', path: '/removed.md' });

    const all = await grepFiles(db, { namespace: 'agent:a', pattern: 'TODO' });
    expect(all.matches).toEqual([
      { path: '/notes/a.md', version: 1, line: 2, text: 'TODO: one' },
      { path: '/other/c.md', version: 1, line: 1, text: 'TODO: three' },
    ]);
    expect(all.truncated).toBe(false);
    const ignoringCase = await grepFiles(db, {
      namespace: 'agent:a',
      pattern: '^todo: \\w+$',
      ignoreCase: true,
      path: '/notes',
    });
    expect(ignoringCase.matches.map((match) => [match.path, match.version, match.line])).toEqual([
      ['/notes/a.md', 1, 2],
      ['/notes/b.md', 2, 2],
    ]);
    // A fixed string: regex characters are plain.
    await writeFile(db, { namespace: 'agent:a', path: '/x.md', content: 'a.b\naxb\n' });
    expect(
      (await grepFiles(db, { namespace: 'agent:a', pattern: 'a.b', fixed: true })).matches.map(
        (match) => match.text,
      ),
    ).toEqual(['a.b']);
    expect(
      (await grepFiles(db, { namespace: 'agent:a', pattern: 'a.b', path: '/x.md' })).matches,
    ).toHaveLength(2);
    // The empty last line after a final newline is not a line.
    expect((await grepFiles(db, { namespace: 'agent:a', pattern: '^$', path: '/x.md' })).matches).toEqual([]);
    const limited = await grepFiles(db, { namespace: 'agent:a', pattern: '.', maxMatches: 2 });
    expect(limited).toMatchObject({ truncated: true });
    expect(limited.matches).toHaveLength(2);
    expect(await failure(grepFiles(db, { namespace: 'agent:a', pattern: '(unclosed' }))).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/not a valid regular expression/),
    });
    expect(await failure(grepFiles(db, { namespace: 'agent:a', pattern: '\\bword\\b' }))).toMatchObject({
      code: 'invalid_input',
      hint: expect.stringMatching(/\\y/),
    });
    expect((await grepFiles(db, { namespace: 'agent:a', pattern: '\\yone\\y' })).matches).toHaveLength(1);
  });

  it('diffs two versions as a unified diff; removals and version 0 are /dev/null; binary only differs', async () => {
    await writeFile(db, { namespace: 'agent:a', path: '/plan.md', content: 'one\ntwo\nthree\n' });
    await writeFile(db, { namespace: 'agent:a', path: '/plan.md', content: 'one\n2\nthree\nfour\n' });
    const latest = await diffFiles(db, { namespace: 'agent:a', path: '/plan.md' });
    expect(latest).toMatchObject({
      from: { version: 1 },
      to: { version: 2 },
      binary: false,
      identical: false,
    });
    expect(latest.diff).toBe(
      '--- /plan.md\tversion 1\n+++ /plan.md\tversion 2\n@@ -1,3 +1,4 @@\n one\n-two\n+2\n three\n+four\n',
    );
    const created = await diffFiles(db, { namespace: 'agent:a', path: '/plan.md', to: 1 });
    expect(created.from).toBeNull();
    expect(created.diff).toMatch(
      /^--- \/dev\/null\tversion 0\n\+\+\+ \/plan\.md\tversion 1\n@@ -0,0 \+1,3 @@\n\+one\n/,
    );
    await removeFile(db, { namespace: 'agent:a', path: '/plan.md' });
    const removal = await diffFiles(db, { namespace: 'agent:a', path: '/plan.md' });
    expect(removal.diff).toMatch(/^--- \/plan\.md\tversion 2\n\+\+\+ \/dev\/null\tversion 3\n/);
    expect((await diffFiles(db, { namespace: 'agent:a', path: '/plan.md', from: 2, to: 2 })).identical).toBe(
      true,
    );
    expect(
      (await failure(diffFiles(db, { namespace: 'agent:a', path: '/plan.md', from: 1, to: 7 }))).code,
    ).toBe('not_found');

    await writeFile(db, { namespace: 'agent:a', path: '/logo.png', content: binary });
    await writeFile(db, {
      namespace: 'agent:a',
      path: '/logo.png',
      content: Buffer.concat([binary, binary]),
    });
    const binaryDiff = await diffFiles(db, { namespace: 'agent:a', path: '/logo.png' });
    expect(binaryDiff).toMatchObject({ binary: true, identical: false });
    expect(binaryDiff.diff).toBe('Binary files /logo.png (version 1) and /logo.png (version 2) differ\n');
  });

  it('exports and imports a tree round trip, binary included, links not followed', async () => {
    const source = mkdtempSync(join(tmpdir(), 'aos-fs-source-'));
    mkdirSync(join(source, 'notes', 'deep'), { recursive: true });
    writeFileSync(join(source, 'notes', 'plan.md'), '# plan\n');
    writeFileSync(join(source, 'notes', 'deep', 'data.bin'), binary);
    writeFileSync(join(source, 'empty.txt'), '');
    writeFileSync(join(source, 'bom.txt'), '\ufeffhi\n');
    const outside = mkdtempSync(join(tmpdir(), 'aos-fs-outside-'));
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(source, 'link.txt'));
    symlinkSync(outside, join(source, 'linked-dir'));

    const imported = await importTree(db, {
      namespace: 'agent:a',
      directory: source,
      path: '/project',
      authorPid: 3,
    });
    expect(imported.files.map((file) => [file.path, file.kind, file.size, file.created])).toEqual([
      ['/project/bom.txt', 'text', 6, true],
      ['/project/empty.txt', 'text', 0, true],
      ['/project/notes/deep/data.bin', 'binary', binary.length, true],
      ['/project/notes/plan.md', 'text', 7, true],
    ]);
    expect(imported.skipped).toEqual([
      { source: join(source, 'link.txt'), reason: 'symbolic link (not followed)' },
      { source: join(source, 'linked-dir'), reason: 'symbolic link (not followed)' },
    ]);
    expect(imported).toMatchObject({ created: 4, unchanged: 0 });
    expect((await grepFiles(db, { namespace: 'agent:a', pattern: 'secret' })).matches).toEqual([]);
    // Importing again changes nothing.
    expect(await importTree(db, { namespace: 'agent:a', directory: source, path: '/project' })).toMatchObject(
      { created: 0, unchanged: 4 },
    );

    const target = join(mkdtempSync(join(tmpdir(), 'aos-fs-export-')), 'out');
    const exported = await exportTree(db, { namespace: 'agent:a', directory: target, path: '/project' });
    expect(exported.files.map((file) => [file.path, file.target])).toEqual([
      ['/project/bom.txt', join(target, 'bom.txt')],
      ['/project/empty.txt', join(target, 'empty.txt')],
      ['/project/notes/deep/data.bin', join(target, 'notes', 'deep', 'data.bin')],
      ['/project/notes/plan.md', join(target, 'notes', 'plan.md')],
    ]);
    expect(exported.bytes).toBe(binary.length + 7 + 6);
    expect(readFileSync(join(target, 'bom.txt'), 'utf8')).toBe('\ufeffhi\n');
    expect(readFileSync(join(target, 'notes', 'deep', 'data.bin')).equals(binary)).toBe(true);
    expect(readFileSync(join(target, 'notes', 'plan.md'), 'utf8')).toBe('# plan\n');
    expect(readdirSync(target).sort()).toEqual(['bom.txt', 'empty.txt', 'notes']);

    // A target that is not empty is refused, and nothing is written.
    const refused = await failure(exportTree(db, { namespace: 'agent:a', directory: target }));
    expect(refused).toMatchObject({ code: 'conflict', message: expect.stringMatching(/is not empty/) });
    expect(readdirSync(join(target, '..'))).toEqual(['out']);
    expect(
      (await failure(exportTree(db, { namespace: 'agent:a', directory: join(target, 'x'), path: '/nope' })))
        .code,
    ).toBe('not_found');
  });

  it('imports all or nothing: one bad file and nothing is written', async () => {
    const source = mkdtempSync(join(tmpdir(), 'aos-fs-source-'));
    writeFileSync(join(source, 'a.txt'), 'a');
    writeFileSync(join(source, 'b.txt'), 'b'.repeat(50));
    const tooBig = await failure(importTree(db, { namespace: 'agent:a', directory: source, maxBytes: 10 }));
    expect(tooBig.code).toBe('limit_exceeded');
    expect((await db.query('select 1 from aos.files')).rowCount).toBe(0);

    writeFileSync(join(source, 'bad\nname.txt'), 'x');
    expect((await failure(importTree(db, { namespace: 'agent:a', directory: source }))).code).toBe(
      'invalid_input',
    );
    expect((await db.query('select 1 from aos.files')).rowCount).toBe(0);

    // A conflict in the middle of the transaction (b.txt is a directory in the namespace) rolls back a.txt too.
    const clean = mkdtempSync(join(tmpdir(), 'aos-fs-source-'));
    writeFileSync(join(clean, 'a.txt'), 'a');
    writeFileSync(join(clean, 'b.txt'), 'b');
    await writeFile(db, { namespace: 'agent:a', path: '/b.txt/inner', content: 'x' });
    expect((await failure(importTree(db, { namespace: 'agent:a', directory: clean }))).code).toBe('conflict');
    expect(
      (await listFiles(db, { namespace: 'agent:a', recursive: true })).map((entry) => entry.path),
    ).toEqual(['/b.txt/inner']);
    expect(
      (await failure(importTree(db, { namespace: 'agent:a', directory: join(clean, 'nope') }))).code,
    ).toBe('not_found');
  });
});
