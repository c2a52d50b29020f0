/**
 * The measuring parts of bench/step-overhead's peers comparison: the wire counter (on PGlite's
 * socket server and on the PostgreSQL server), WAL accounting (the server: pg_walinspect),
 * the contender process protocol, and the line fit. Counts are asserted, never timings.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { runContenderProcess } from '../../bench/step-overhead/contender-process.js';
import { fitLine, median, type Series, summarize } from '../../bench/step-overhead/peers-report.js';
import { enableWalInspection, walPosition, walUsage } from '../../bench/step-overhead/wal-usage.js';
import {
  startWireCounter,
  type WireCounter,
  type WireCounts,
} from '../../bench/step-overhead/wire-counter.js';

const serverUrl = process.env.AOS_TEST_DATABASE_URL;
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A TCP endpoint speaking the PostgreSQL protocol, with a fresh database. */
interface Endpoint {
  name: string;
  start(): Promise<{ host: string; port: number; user: string; database: string }>;
}

const pgliteEndpoint: Endpoint = {
  name: 'pglite',
  async start() {
    const db = await PGlite.create();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
    await server.start();
    cleanups.push(async () => {
      await server.stop();
      await db.close();
    });
    return {
      host: '127.0.0.1',
      port: Number(server.getServerConn().split(':')[1]),
      user: 'postgres',
      database: 'postgres',
    };
  },
};

async function freshServerDatabase(): Promise<string> {
  const name = `aos_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  cleanups.push(async () => {
    const cleanup = new pg.Client({ connectionString: serverUrl });
    await cleanup.connect();
    await cleanup.query(`drop database if exists ${name} with (force)`);
    await cleanup.end();
  });
  const url = new URL(serverUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

const serverEndpoint: Endpoint = {
  name: 'postgres',
  async start() {
    const url = new URL(await freshServerDatabase());
    return {
      host: url.hostname,
      port: Number(url.port || 5432),
      user: decodeURIComponent(url.username || 'postgres'),
      database: url.pathname.slice(1),
    };
  },
};

const endpoints = serverUrl === undefined ? [pgliteEndpoint] : [pgliteEndpoint, serverEndpoint];

function since(counter: WireCounter, before: WireCounts): WireCounts {
  const now = counter.counts();
  return {
    connections: now.connections - before.connections,
    roundTrips: now.roundTrips - before.roundTrips,
    statements: now.statements - before.statements,
    commits: now.commits - before.commits,
  };
}

describe.each(endpoints)('wire counter on $name', (endpoint) => {
  it('counts round trips, statements and commits of autocommit, explicit, failed and multi-statement work', async () => {
    const target = await endpoint.start();
    const counter = await startWireCounter({ host: target.host, port: target.port });
    cleanups.push(() => counter.close());
    const client = new pg.Client({ ...target, host: '127.0.0.1', port: counter.port });
    await client.connect();
    expect(counter.counts()).toEqual({ connections: 1, roundTrips: 0, statements: 0, commits: 0 });

    // Autocommit: a simple Query, then an extended query (Parse, Bind, Execute, Sync).
    let before = counter.counts();
    await client.query('create table items (id int primary key, body text)');
    await client.query('insert into items values ($1, $2)', [1, 'a']);
    expect(since(counter, before)).toEqual({ connections: 0, roundTrips: 2, statements: 2, commits: 2 });

    // An explicit transaction is one commit, whatever its statement count.
    before = counter.counts();
    await client.query('begin');
    await client.query('insert into items values ($1, $2)', [2, 'b']);
    await client.query('insert into items values ($1, $2)', [3, 'c']);
    await client.query('commit');
    expect(since(counter, before)).toEqual({ connections: 0, roundTrips: 4, statements: 4, commits: 1 });

    // Failures and rollbacks commit nothing.
    before = counter.counts();
    await expect(client.query('insert into items values ($1, $2)', [1, 'duplicate'])).rejects.toMatchObject({
      code: '23505',
    });
    await client.query('begin');
    await client.query('insert into items values ($1, $2)', [4, 'd']);
    await client.query('rollback');
    // An implicit transaction whose second statement fails rolls back its first.
    await expect(
      client.query("insert into items values (7, 'g'); insert into items values (1, 'duplicate')"),
    ).rejects.toMatchObject({ code: '23505' });
    expect(since(counter, before)).toEqual({ connections: 0, roundTrips: 5, statements: 4, commits: 0 });

    // Several statements in one simple Query: one round trip, one implicit transaction.
    before = counter.counts();
    await client.query("insert into items values (5, 'e'); insert into items values (6, 'f')");
    expect(since(counter, before)).toEqual({ connections: 0, roundTrips: 1, statements: 2, commits: 1 });

    // Large messages (a 256 KB value each way) are framed across many chunks.
    before = counter.counts();
    const large = 'x'.repeat(1 << 18);
    const echoed = await client.query<{ body: string }>('select $1::text as body', [large]);
    expect(echoed.rows[0]!.body).toHaveLength(1 << 18);
    expect(since(counter, before)).toEqual({ connections: 0, roundTrips: 1, statements: 1, commits: 1 });

    const rows = await client.query<{ id: number }>('select id from items order by id');
    expect(rows.rows.map((row) => row.id)).toEqual([1, 2, 3, 5, 6]);
    await client.end();
    for (let attempt = 0; attempt < 100 && counter.openConnections() > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(counter.openConnections()).toBe(0);
  });
});

describe.skipIf(serverUrl === undefined)('WAL usage on postgres', () => {
  it("keeps the database's own records and commits, not other databases'", async () => {
    const [mine, other] = [await freshServerDatabase(), await freshServerDatabase()];
    const observer = new pg.Client({ connectionString: mine });
    const client = new pg.Client({ connectionString: mine });
    const elsewhere = new pg.Client({ connectionString: other });
    for (const connection of [observer, client, elsewhere]) await connection.connect();
    cleanups.push(async () => {
      for (const connection of [observer, client, elsewhere]) await connection.end();
    });
    expect(await enableWalInspection(observer)).toBe(true);
    await client.query('create table items (id int primary key, body jsonb)');
    await elsewhere.query('create table others (id int primary key, body jsonb)');

    const start = await walPosition(observer);
    for (let id = 0; id < 3; id++) {
      await client.query('insert into items values ($1, $2)', [id, JSON.stringify('x'.repeat(100))]);
      await elsewhere.query('insert into others values ($1, $2)', [id, JSON.stringify('y'.repeat(1000))]);
    }
    await client.query('select count(*) from items'); // read-only: no commit record
    const end = await walPosition(observer);
    const usage = await walUsage(observer, start, end, true);
    expect(usage.ownCommitRecords).toBe(3);
    // Each insert: a heap record (~100-byte row) and an index record; the other database's 1 KB rows are left out.
    expect(usage.ownBytes).toBeGreaterThan(3 * 100);
    expect(usage.ownBytes).toBeLessThan(3 * 1000);
    expect(usage.lsnBytes).toBeGreaterThan(usage.ownBytes! + 3 * 1000);

    expect(await walUsage(observer, end, end, true)).toMatchObject({ lsnBytes: 0, ownRecords: 0 });
    expect(await walUsage(observer, start, end, false)).toMatchObject({
      lsnBytes: usage.lsnBytes,
      ownBytes: null,
    });
  });
});

describe('contender processes', () => {
  const folder = mkdtempSync(join(tmpdir(), 'aos-contender-'));
  /** Writes a contender script that follows the protocol, journaling `journaled` steps. */
  const script = (name: string, body: string): string => {
    const path = join(folder, `${name}.mjs`);
    writeFileSync(
      path,
      `import { createInterface } from 'node:readline';
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const n = Number(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + '\\n');
${body}
process.exit(0);
`,
    );
    return path;
  };

  it('runs the hooks between ready, the result and the check, and returns the result', async () => {
    const path = script(
      'good',
      `print({ ready: true });
await lines.next();
print({ contender: 'good', n, size: Number(process.argv[3]), ms: 12.5, url: process.argv[4] });
await lines.next();
print({ journaled: n });`,
    );
    const events: string[] = [];
    const outcome = await runContenderProcess(path, 7, 8, 'postgres://somewhere/db', {
      beforeWorkflow: async () => {
        events.push('before');
      },
      afterWorkflow: async () => {
        events.push('after');
      },
    });
    expect(events).toEqual(['before', 'after']);
    expect(outcome).toEqual({
      kind: 'result',
      ms: 12.5,
      line: { contender: 'good', n: 7, size: 8, ms: 12.5, url: 'postgres://somewhere/db' },
    });
  });

  it('reports a skipped contender with its reason', async () => {
    const path = script('skipping', `print({ contender: 'skipping', n, size: 8, skipped: 'not here yet' });`);
    await expect(runContenderProcess(path, 3, 8, 'postgres://x/y')).resolves.toEqual({
      kind: 'skipped',
      reason: 'not here yet',
    });
  });

  it('fails a run whose journal has fewer steps than N, or whose process fails', async () => {
    const short = script(
      'short',
      `print({ ready: true });
await lines.next();
print({ contender: 'short', n, size: 8, ms: 1 });
await lines.next();
print({ journaled: n - 1 });`,
    );
    await expect(runContenderProcess(short, 5, 8, 'postgres://x/y')).rejects.toThrow(
      /journaled 4 steps, not 5/,
    );
    const crashing = script('crashing', `process.stderr.write('boom\\n'); process.exit(3);`);
    await expect(runContenderProcess(crashing, 5, 8, 'postgres://x/y')).rejects.toThrow(/exit code 3\nboom/);
  });
});

describe('the fit', () => {
  it('finds a and b of an exact line, and medians of odd and even counts', () => {
    expect(
      fitLine([
        [0, 2],
        [10, 7],
        [100, 52],
        [1000, 502],
      ]),
    ).toEqual({ a: 2, b: 0.5, r2: 1 });
    expect(fitLine([[5, 1]])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('takes counters per step between the smallest and the largest N', () => {
    const counters = (roundTrips: number) => ({
      connections: 0,
      roundTrips,
      statements: roundTrips,
      commits: roundTrips / 2,
      walCommitRecords: null,
      walBytes: null,
      walFullPageBytes: null,
      lsnBytes: 0,
    });
    const series: Series = {
      contender: 'floor',
      size: 8,
      times: new Map([
        [0, [1, 9, 2]],
        [1000, [1001, 1002, 3000]],
      ]),
      counters: new Map([
        [0, counters(8)],
        [1000, counters(2008)],
      ]),
    };
    const summary = summarize(series);
    expect(summary.medianMs).toEqual({ 0: 2, 1000: 1002 });
    expect(summary.rangeMs).toEqual({ 0: [1, 9], 1000: [1001, 3000] });
    expect(summary.fit).toEqual({ a: 2, b: 1, r2: 1 });
    expect(summary.perStep).toMatchObject({ roundTrips: 2, commits: 1, walBytes: null });
  });
});
