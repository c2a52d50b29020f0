/**
 * bench/audit: the audit chain's append rate on the PostgreSQL server (one entry per
 * transaction, several clients at once, as the kernel appends them), and the time to
 * verify a chain of 1,000,000 entries in the client.
 *
 *   npm run bench:audit            (AOS_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { cpus } from 'node:os';
import pg from 'pg';
import { migrate } from '../../src/storage/migrate.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import { appendAudit, entryHash, verifyChain } from '../../src/trust/audit.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const clients = Number(process.env.AOS_BENCH_CLIENTS ?? 8);
const appendSeconds = Number(process.env.AOS_BENCH_SECONDS ?? 5);
const chainLength = Number(process.env.AOS_BENCH_CHAIN ?? 1_000_000);

async function main(): Promise<void> {
  const name = `aos_bench_audit_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = createPostgresDb({ connection: url.toString(), maxConnections: clients + 2 });
  try {
    await migrate(db);
    const version = (await db.query<{ server_version: string }>('show server_version')).rows[0]!
      .server_version;

    // 1. Append rate: `clients` loops, each appending one entry per transaction.
    let appended = 0;
    const stopAt = Date.now() + appendSeconds * 1000;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: clients }, async (_, client) => {
        while (Date.now() < stopAt) {
          await appendAudit(db, {
            kind: 'bench',
            pid: client,
            actor: 'bench',
            data: { client, n: appended },
          });
          appended += 1;
        }
      }),
    );
    const appendMs = Number(process.hrtime.bigint() - started) / 1e6;
    const appendRate = appended / (appendMs / 1000);

    // 2. Grow the chain to `chainLength` entries (hashed here, inserted in batches), then verify it.
    const head = await db.query<{ id: number; hash: Buffer }>('select id, hash from aos.audit_head');
    let previous: Buffer = Buffer.from(head.rows[0]!.hash);
    let id = head.rows[0]!.id;
    const at = new Date().toISOString().replace('Z', '000Z');
    while (id < chainLength) {
      const rows: { id: number; data: string; prev: Buffer; hash: Buffer }[] = [];
      for (let index = 0; index < 5000 && id < chainLength; index++) {
        id += 1;
        const data = `{"n":${id},"note":"filler entry for the verify benchmark"}`;
        const hash = entryHash(previous, { id, at, kind: 'bench', pid: null, actor: 'bench', data });
        rows.push({ id, data, prev: previous, hash });
        previous = hash;
      }
      await db.query(
        `insert into aos.audit (id, at, kind, pid, actor, data, prev_hash, hash)
         select i, $2, 'bench', null, 'bench', d, p, h
           from unnest($1::bigint[], $3::text[], $4::bytea[], $5::bytea[]) as t(i, d, p, h)`,
        [
          rows.map((row) => row.id),
          at,
          rows.map((row) => row.data),
          rows.map((row) => row.prev),
          rows.map((row) => row.hash),
        ],
      );
    }
    await db.query('update aos.audit_head set id = $1, hash = $2', [id, previous]);
    const verifyStarted = process.hrtime.bigint();
    const check = await verifyChain(db);
    const verifyMs = Number(process.hrtime.bigint() - verifyStarted) / 1e6;
    if (!check.ok) throw new Error(`the chain did not verify: ${JSON.stringify(check.firstBad)}`);

    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', postgres: version },
      append: {
        clients,
        seconds: appendMs / 1000,
        entries: appended,
        entriesPerSecond: Math.round(appendRate),
      },
      verify: {
        entries: check.entries,
        seconds: verifyMs / 1000,
        entriesPerSecond: Math.round(check.entries / (verifyMs / 1000)),
      },
      targets: { appendPerSecond: 5000, verifyMillionSeconds: 10 },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await db.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/audit failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
