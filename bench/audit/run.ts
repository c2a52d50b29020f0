/**
 * bench/audit: the audit log on the PostgreSQL server.
 *
 * 1. Append rate with the chainer running as a worker runs it (one aos.chain_audit
 *    batch every 100 ms, skipping when another chainer is at work): several clients
 *    append one entry per transaction, as the kernel does. Reports the append rate, the
 *    chaining rate over the same time, the lag (entries pending, and the age of the
 *    oldest, sampled at each tick), and how long the chainer takes to catch up after.
 * 2. The same clients appending with the previous design (migration 0003: each entry
 *    chained at commit under the head row lock), in another database, for the ratio;
 *    and the floor: the same clients each committing one plain insert of a similar row.
 * 3. The chainer's capacity: the time to chain a backlog of pending entries.
 * 4. The time to verify a chain of 1,000,000 entries in the client.
 *
 *   npm run bench:audit            (AOS_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres;
 *                                   AOS_BENCH_CLIENTS 8, AOS_BENCH_SECONDS 5, AOS_BENCH_CHAIN 1000000,
 *                                   AOS_BENCH_CHAIN_EVERY_MS 100, AOS_BENCH_BACKLOG 100000)
 */
import { cpus } from 'node:os';
import pg from 'pg';
import type { Db } from '../../src/storage/db.js';
import { migrate } from '../../src/storage/migrate.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import { appendAudit, chainAudit, drainAudit, entryHash, verifyChain } from '../../src/trust/audit.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const clients = Number(process.env.AOS_BENCH_CLIENTS ?? 8);
const appendSeconds = Number(process.env.AOS_BENCH_SECONDS ?? 5);
const chainLength = Number(process.env.AOS_BENCH_CHAIN ?? 1_000_000);
const chainEveryMs = Number(process.env.AOS_BENCH_CHAIN_EVERY_MS ?? 100);
const backlog = Number(process.env.AOS_BENCH_BACKLOG ?? 100_000);

/** The previous design (migrations/0003_audit.sql): a deferred trigger chains each entry at commit. */
const chainAtCommitSql = `
create function aos.bench_chain_at_commit() returns trigger language plpgsql as $$
declare
  v_head aos.audit_head;
  v_id bigint;
  v_at text := to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
  v_hash bytea;
begin
  perform set_config('aos.audit_chainer', 'on', true);
  select * into v_head from aos.audit_head for update;
  v_id := v_head.id + 1;
  v_hash := sha256(v_head.hash ||
    convert_to(aos.audit_entry_text(v_id, v_at, new.kind, new.pid, new.actor, new.data), 'UTF8'));
  insert into aos.audit (id, at, kind, pid, actor, data, prev_hash, hash)
  values (v_id, v_at, new.kind, new.pid, new.actor, new.data, v_head.hash, v_hash);
  update aos.audit_head set id = v_id, hash = v_hash;
  delete from aos.audit_pending where seq = new.seq;
  perform set_config('aos.audit_chainer', 'off', true);
  return null;
end $$;
create constraint trigger bench_chain_at_commit after insert on aos.audit_pending
  deferrable initially deferred for each row execute function aos.bench_chain_at_commit();
`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

/**
 * `clients` loops appending one entry per transaction for `appendSeconds` (or, with
 * `floor`, inserting a similar row into a plain table); returns how many and how long.
 */
async function appendFor(db: Db, floor = false): Promise<{ entries: number; seconds: number }> {
  let appended = 0;
  const stopAt = Date.now() + appendSeconds * 1000;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (Date.now() < stopAt) {
        if (floor) {
          await db.query(
            "insert into bench_floor (kind, pid, actor, data) values ('bench', $1, 'bench', $2)",
            [client, JSON.stringify({ client, n: appended })],
          );
        } else {
          await appendAudit(db, {
            kind: 'bench',
            pid: client,
            actor: 'bench',
            data: { client, n: appended },
          });
        }
        appended += 1;
      }
    }),
  );
  return { entries: appended, seconds: seconds(started) };
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const databases: { name: string; db: Db }[] = [];
  const open = async (suffix: string) => {
    const name = `aos_bench_audit_${process.pid}_${suffix}`;
    await admin.query(`create database ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const db = createPostgresDb({ connection: url.toString(), maxConnections: clients + 2 });
    databases.push({ name, db });
    await migrate(db);
    return db;
  };
  try {
    const db = await open('async');
    const version = (await db.query<{ server_version: string }>('show server_version')).rows[0]!
      .server_version;

    // 1. Appends with the chainer ticking, as a worker runs it.
    const samples: { pending: number; ageMs: number }[] = [];
    let chained = 0;
    let appending = true;
    const chainer = (async () => {
      while (appending) {
        const lag = await db.query<{ pending: number; age_ms: number | null }>(
          `select count(*)::int as pending,
                  extract(epoch from clock_timestamp() - min(at)::timestamptz) * 1000 as age_ms
             from aos.audit_pending`,
        );
        samples.push({ pending: lag.rows[0]!.pending, ageMs: Number(lag.rows[0]!.age_ms ?? 0) });
        chained += await chainAudit(db, { wait: false });
        await sleep(chainEveryMs);
      }
    })();
    const appended = await appendFor(db);
    appending = false;
    await chainer;
    const catchUpStarted = process.hrtime.bigint();
    const chainedAfter = await drainAudit(db);
    const catchUpSeconds = seconds(catchUpStarted);
    const chainedTotal = (
      await db.query<{ id: number }>('select coalesce(max(id), 0)::int as id from aos.audit')
    ).rows[0]!.id;
    if (chainedTotal !== appended.entries || chained + chainedAfter !== appended.entries) {
      throw new Error(`appended ${appended.entries} entries but chained ${chainedTotal}`);
    }

    // 2. The previous design, chained at commit, on the same machine now.
    const baselineDb = await open('commit');
    await baselineDb.exec(chainAtCommitSql);
    const baseline = await appendFor(baselineDb);

    // 2b. The floor: the same clients each committing one plain insert of a similar row.
    await baselineDb.exec(
      'create table bench_floor (id bigint generated always as identity primary key, kind text, pid bigint, actor text, data text)',
    );
    const floor = await appendFor(baselineDb, true);

    // 3. The chainer's capacity: a backlog of pending entries, chained in batches of 10,000.
    await db.query(
      `insert into aos.audit_pending (kind, pid, actor, data)
       select 'bench', g % 8, 'bench', '{"client":' || (g % 8) || ',"n":' || g || '}'
         from generate_series(1, $1) as g`,
      [backlog],
    );
    const drainStarted = process.hrtime.bigint();
    const drained = await drainAudit(db);
    const drainSeconds = seconds(drainStarted);

    // 4. Grow the chain to `chainLength` entries (hashed here, inserted in batches), then verify it.
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
      await db.transaction(async (tx) => {
        await tx.query("select set_config('aos.audit_chainer', 'on', true)");
        await tx.query(
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
      });
    }
    await db.query('update aos.audit_head set id = $1, hash = $2', [id, previous]);
    const verifyStarted = process.hrtime.bigint();
    const check = await verifyChain(db);
    const verifySeconds = seconds(verifyStarted);
    if (!check.ok) throw new Error(`the chain did not verify: ${JSON.stringify(check.firstBad)}`);

    const appendRate = appended.entries / appended.seconds;
    const baselineRate = baseline.entries / baseline.seconds;
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', postgres: version },
      append: {
        clients,
        seconds: appended.seconds,
        entries: appended.entries,
        entriesPerSecond: Math.round(appendRate),
      },
      chaining: {
        everyMs: chainEveryMs,
        chainedWhileAppending: chained,
        entriesPerSecond: Math.round(chained / appended.seconds),
        lag: {
          ticks: samples.length,
          medianPendingEntries: median(samples.map((sample) => sample.pending)),
          maxPendingEntries: Math.max(0, ...samples.map((sample) => sample.pending)),
          medianOldestAgeMs: Math.round(median(samples.map((sample) => sample.ageMs))),
          maxOldestAgeMs: Math.round(Math.max(0, ...samples.map((sample) => sample.ageMs))),
        },
        catchUp: { entries: chainedAfter, seconds: catchUpSeconds },
      },
      chainAtCommit: {
        clients,
        seconds: baseline.seconds,
        entries: baseline.entries,
        entriesPerSecond: Math.round(baselineRate),
        asyncOverCommitRatio: Number((appendRate / baselineRate).toFixed(2)),
      },
      floor: {
        clients,
        seconds: floor.seconds,
        entries: floor.entries,
        entriesPerSecond: Math.round(floor.entries / floor.seconds),
        asyncOverFloorRatio: Number((appendRate / (floor.entries / floor.seconds)).toFixed(2)),
      },
      chainerCapacity: {
        entries: drained,
        seconds: drainSeconds,
        entriesPerSecond: Math.round(drained / drainSeconds),
      },
      verify: {
        entries: check.entries,
        seconds: verifySeconds,
        entriesPerSecond: Math.round(check.entries / verifySeconds),
      },
      targets: { appendPerSecond: 5000, verifyMillionSeconds: 10 },
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    for (const { name, db } of databases) {
      await db.close();
      await admin.query(`drop database if exists ${name} with (force)`);
    }
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/audit failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
