/**
 * bench/files: the agent file system's costs on the PostgreSQL server and on PGlite:
 * writes (one writer; several writers in several namespaces), reads of the latest
 * version, a recursive listing, grep (regex and fixed string) over every file, and the
 * export and import of the whole tree.
 *
 *   npm run bench:files     (AOS_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres;
 *                            AOS_BENCH_FILES, default 2000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { exportTree } from '../../src/fs/export-tree.js';
import { grepFiles } from '../../src/fs/grep-files.js';
import { importTree } from '../../src/fs/import-tree.js';
import { listFiles } from '../../src/fs/list-files.js';
import { readFile } from '../../src/fs/read-file.js';
import { writeFile } from '../../src/fs/write-file.js';
import type { Db } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrate.js';
import { createPgliteDb, openPglite } from '../../src/storage/pglite-db.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const fileCount = Number(process.env.AOS_BENCH_FILES ?? 2000);
const writers = 8;

/** About 2 KB of text: 40 lines, one of them with a marker in every tenth file. */
function contentOf(index: number): string {
  const lines = Array.from(
    { length: 40 },
    (_, line) => `line ${line} of file ${index}: lorem ipsum dolor sit amet`,
  );
  if (index % 10 === 0) lines[20] = `NEEDLE in file ${index}`;
  return `${lines.join('\n')}\n`;
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = process.hrtime.bigint();
  const value = await work();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, value };
}

async function measure(db: Db): Promise<Record<string, string>> {
  await migrate(db);
  const results: Record<string, string> = {};
  const one = await timed(async () => {
    for (let index = 0; index < fileCount; index++) {
      await writeFile(db, {
        namespace: 'agent:bench',
        path: `/dir${index % 20}/file${index}.txt`,
        content: contentOf(index),
      });
    }
  });
  results['write, one writer'] =
    `${(one.ms / fileCount).toFixed(3)} ms/file (${Math.round(fileCount / (one.ms / 1000))} files/s)`;
  const perWriter = Math.floor(fileCount / writers);
  const many = await timed(() =>
    Promise.all(
      Array.from({ length: writers }, async (_, writer) => {
        for (let index = 0; index < perWriter; index++) {
          await writeFile(db, {
            namespace: `process:${writer + 1}`,
            path: `/notes/${index}.txt`,
            content: contentOf(index),
          });
        }
      }),
    ),
  );
  results[`write, ${writers} writers in ${writers} namespaces`] =
    `${Math.round((perWriter * writers) / (many.ms / 1000))} files/s`;
  const unchanged = await timed(async () => {
    for (let index = 0; index < 200; index++) {
      await writeFile(db, {
        namespace: 'agent:bench',
        path: `/dir${index % 20}/file${index}.txt`,
        content: contentOf(index),
      });
    }
  });
  results['write of unchanged content (no version added)'] = `${(unchanged.ms / 200).toFixed(3)} ms/file`;
  const reads = await timed(async () => {
    for (let index = 0; index < 500; index++) {
      const n = (index * 7919) % fileCount;
      await readFile(db, { namespace: 'agent:bench', path: `/dir${n % 20}/file${n}.txt` });
    }
  });
  results['read latest'] = `${(reads.ms / 500).toFixed(3)} ms/file`;
  const list = await timed(() => listFiles(db, { namespace: 'agent:bench', recursive: true }));
  results[`ls --recursive (${list.value.length} files)`] = `${list.ms.toFixed(1)} ms`;
  const top = await timed(() => listFiles(db, { namespace: 'agent:bench' }));
  results[`ls one level (${top.value.length} directories)`] = `${top.ms.toFixed(1)} ms`;
  const regex = await timed(() =>
    grepFiles(db, { namespace: 'agent:bench', pattern: '^NEEDLE in file \\d+$', maxMatches: 10_000 }),
  );
  results[`grep regex over ${fileCount} files (${regex.value.matches.length} matches)`] =
    `${regex.ms.toFixed(1)} ms`;
  const fixed = await timed(() =>
    grepFiles(db, { namespace: 'agent:bench', pattern: 'NEEDLE', fixed: true, maxMatches: 10_000 }),
  );
  results[`grep fixed string over ${fileCount} files (${fixed.value.matches.length} matches)`] =
    `${fixed.ms.toFixed(1)} ms`;
  const folder = mkdtempSync(join(tmpdir(), 'aos-bench-files-'));
  try {
    const exported = await timed(() =>
      exportTree(db, { namespace: 'agent:bench', directory: join(folder, 'out') }),
    );
    results[`export (${exported.value.files.length} files)`] = `${exported.ms.toFixed(0)} ms`;
    const imported = await timed(() =>
      importTree(db, { namespace: 'agent:copy', directory: join(folder, 'out') }),
    );
    results[`import, one transaction (${imported.value.files.length} files)`] =
      `${imported.ms.toFixed(0)} ms`;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  return results;
}

async function main(): Promise<void> {
  const name = `aos_bench_files_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const server = createPostgresDb({ connection: url.toString(), maxConnections: writers + 2 });
  let serverResults: Record<string, string>;
  try {
    serverResults = await measure(server);
  } finally {
    await server.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
  const embedded = createPgliteDb(await openPglite(undefined), 'memory');
  let pgliteResults: Record<string, string>;
  try {
    pgliteResults = await measure(embedded);
  } finally {
    await embedded.close();
  }
  console.log('| measure | server | PGlite |');
  console.log('|---|---|---|');
  for (const measureName of Object.keys(serverResults)) {
    console.log(`| ${measureName} | ${serverResults[measureName]} | ${pgliteResults[measureName] ?? '-'} |`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
