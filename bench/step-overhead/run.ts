/**
 * bench/step-overhead: what the kernel adds per step, on the PostgreSQL server.
 * One process whose scripted CPU (no delay) calls a no-op tool N times, run by one
 * worker, timed from spawn to exit, next to the floor: one autocommit INSERT per step
 * of a similar row from one client. Also counts round trips and commits per step.
 *
 *   npm run bench:step-overhead      (AOS_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { z } from 'zod';
import { defineTool, textResult } from '../../src/io/tool.js';
import { createKernel } from '../../src/kernel.js';
import type { Db, Queryable } from '../../src/storage/db.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const toolCalls = Number(process.env.AOS_BENCH_CALLS ?? 500);
const repeats = Number(process.env.AOS_BENCH_REPEATS ?? 5);

const noop = defineTool({
  name: 'noop',
  description: 'Does nothing.',
  input: z.object({ i: z.number().int() }),
  annotations: { readOnly: true, idempotent: true },
  async run(input) {
    return textResult(`ok ${input.i}`);
  },
});

/**
 * Wraps a Db to count round trips (statements, plus BEGIN and COMMIT of transactions),
 * including those of the bounded sessions and the heartbeat connection a worker opens.
 */
function counting(db: Db): { db: Db; roundTrips: () => number; reset: () => void } {
  let trips = 0;
  const wrap = (target: Queryable): Queryable => ({
    query: (sql, params, options) => {
      trips += 1;
      return target.query(sql, params, options);
    },
    exec: (sql) => {
      trips += 1;
      return target.exec(sql);
    },
  });
  const wrapDb = (inner: Db): Db => ({
    kind: inner.kind,
    location: inner.location,
    deliversNotifications: inner.deliversNotifications,
    ...wrap(inner),
    transaction: (work) => {
      trips += 2;
      return inner.transaction((tx) => work(wrap(tx)));
    },
    bounded: (bounds) => {
      const bounded = inner.bounded(bounds);
      return bounded === inner ? wrapped : wrapDb(bounded);
    },
    connection: async () => {
      const connection = await inner.connection();
      return { ...wrap(connection), close: () => connection.close() };
    },
    listen: inner.listen.bind(inner),
    close: inner.close.bind(inner),
  });
  const wrapped = wrapDb(db);
  return { db: wrapped, roundTrips: () => trips, reset: () => (trips = 0) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function commitsOf(client: pg.Client, name: string): Promise<number> {
  await client.query('select pg_stat_force_next_flush()').catch(() => {});
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const result = await client.query('select xact_commit from pg_stat_database where datname = $1', [name]);
  return Number(result.rows[0].xact_commit);
}

async function main(): Promise<void> {
  const name = `aos_bench_steps_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const base = createPostgresDb({ connection: url.toString(), maxConnections: 4 });
  const counter = counting(base);
  const folder = mkdtempSync(join(tmpdir(), 'aos-bench-'));
  const turns = Array.from(
    { length: toolCalls },
    (_, i) => `  - tool_calls: [{ name: noop, arguments: { i: ${i} } }]`,
  );
  writeFileSync(join(folder, 'steps.yaml'), `turns:\n${turns.join('\n')}\n  - finish: done\n`);
  writeFileSync(
    join(folder, 'steps.md'),
    '---\nname: steps\nmodel: scripted:./steps.yaml\ntools: [noop, finish]\n---\nStep.\n',
  );
  const kernel = await createKernel({ db: counter.db, tools: [noop] });
  const version = (await base.query<{ server_version: string }>('show server_version')).rows[0]!
    .server_version;
  const observer = new pg.Client({ connectionString: url.toString() });
  await observer.connect();
  try {
    // aos: model step + tool step per call, plus the final model step and finish.
    const steps = 2 * toolCalls + 2;
    const aosTimes: number[] = [];
    let tripsPerStep = 0;
    let commitsPerStep = 0;
    await kernel
      .call('spawn', { agent: join(folder, 'steps.md') })
      .then((p) => kernel.call('kill', { pid: p.pid, signal: 'KILL' }));
    for (let round = 0; round < repeats; round++) {
      const worker = kernel.createWorker({
        concurrency: 1,
        pollMs: 1,
        leaseMs: 30_000,
        quantumMs: 3_600_000,
      });
      const commitsBefore = await commitsOf(observer, name);
      await worker.start();
      counter.reset();
      const started = process.hrtime.bigint();
      const { pid } = await kernel.call('spawn', { agent: 'steps' });
      await kernel.call('wait', { pid });
      const elapsed = Number(process.hrtime.bigint() - started) / 1e6;
      const trips = counter.roundTrips();
      await worker.stop();
      const commitsAfter = await commitsOf(observer, name);
      aosTimes.push(elapsed / steps);
      tripsPerStep = trips / steps;
      commitsPerStep = (commitsAfter - commitsBefore) / steps;
    }

    // The floor: one autocommit INSERT per step, of a row like a journal step, from one client.
    await observer.query(
      'create table floor_steps (pid bigint, seq int, kind text, output jsonb, messages jsonb, primary key (pid, seq))',
    );
    const floorTimes: number[] = [];
    const payload = JSON.stringify([
      { role: 'assistant', content: '', toolCalls: [{ id: 't1_0', name: 'noop', arguments: { i: 1 } }] },
    ]);
    for (let round = 0; round < repeats; round++) {
      const started = process.hrtime.bigint();
      for (let seq = 0; seq < steps; seq++) {
        await observer.query('insert into floor_steps values ($1, $2, $3, $4, $5)', [
          round,
          seq,
          'tool',
          '{"ok":1}',
          payload,
        ]);
      }
      floorTimes.push(Number(process.hrtime.bigint() - started) / 1e6 / steps);
    }

    const aosMs = median(aosTimes);
    const floorMs = median(floorTimes);
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', postgres: version },
      steps,
      repeats,
      aos: {
        msPerStep: Number(aosMs.toFixed(4)),
        roundTripsPerStep: Number(tripsPerStep.toFixed(2)),
        commitsPerStep: Number(commitsPerStep.toFixed(2)),
      },
      floor: { msPerStep: Number(floorMs.toFixed(4)), roundTripsPerStep: 1, commitsPerStep: 1 },
      ratio: Number((aosMs / floorMs).toFixed(2)),
      target: 'aos within 2x of the floor',
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await observer.end();
    await kernel.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/step-overhead failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exitCode = 1;
});
