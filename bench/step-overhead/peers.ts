/**
 * bench/step-overhead, peers: N no-op durable steps (N = 0, 10, 100, 1000; 8-byte and 4 KB
 * results) on the same PostgreSQL server, by the floor (one autocommit INSERT per step),
 * DBOS (`DBOS.runStep` in a workflow), LangGraph (PostgresSaver, durability "sync") and aos
 * (`ctx.step` in a program), each run in a fresh child process on a fresh database.
 * Times are the medians of the repeats, fitted to time = a + b·N; one more run per contender
 * at the smallest and largest N goes through a counting proxy, for round trips, commits and
 * WAL per step. Prints JSON on stdout, progress and Markdown tables on stderr.
 *
 *   npm run bench:step-peers
 *   AOS_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres, a superuser)
 *   AOS_BENCH_CONTENDERS (floor,dbos,langgraph,aos) AOS_BENCH_STEPS (0,10,100,1000)
 *   AOS_BENCH_SIZES (8,4096) AOS_BENCH_REPEATS (5)
 */
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runContenderProcess } from './contender-process.js';
import { preparePeers } from './peers-install.js';
import { markdownTables, median, type RunCounters, type Series, slopeOf, summarize } from './peers-report.js';
import { enableWalInspection, walPosition, walUsage } from './wal-usage.js';
import { startWireCounter, type WireCounts } from './wire-counter.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const list = (value: string | undefined, fallback: string): string[] =>
  (value ?? fallback).split(',').map((item) => item.trim());
const contenders = list(process.env.AOS_BENCH_CONTENDERS, 'floor,dbos,langgraph,aos');
const stepCounts = list(process.env.AOS_BENCH_STEPS, '0,10,100,1000').map(Number);
const sizes = list(process.env.AOS_BENCH_SIZES, '8,4096').map(Number);
const repeats = Number(process.env.AOS_BENCH_REPEATS ?? 5);

// From dist/bench/step-overhead/ to the repository root.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const peersFolder = join(root, 'bench', 'step-overhead', 'peers');
const scriptOf = (contender: string): string => join(peersFolder, 'dist', 'contenders', `${contender}.js`);

let databases = 0;

function urlOf(name: string, port?: number): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  if (port !== undefined) {
    url.hostname = '127.0.0.1';
    url.port = String(port);
  }
  return url.toString();
}

/** Runs `work` on a new database, dropped afterwards. */
async function withDatabase<T>(admin: pg.Client, work: (name: string) => Promise<T>): Promise<T> {
  databases += 1;
  const name = `aos_peers_${process.pid}_${databases}`;
  await admin.query(`create database ${name}`);
  try {
    return await work(name);
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
  }
}

function difference(before: WireCounts, after: WireCounts): WireCounts {
  return {
    connections: after.connections - before.connections,
    roundTrips: after.roundTrips - before.roundTrips,
    statements: after.statements - before.statements,
    commits: after.commits - before.commits,
  };
}

async function main(): Promise<void> {
  for (const contender of contenders) {
    if (!['floor', 'dbos', 'langgraph', 'aos'].includes(contender))
      throw new Error(`no contender ${contender}`);
  }
  const versions = await preparePeers(root, peersFolder);
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  const server = new URL(serverUrl);
  const counter = await startWireCounter({ host: server.hostname, port: Number(server.port || 5432) });
  const settings = await admin.query<{ name: string; setting: string }>(
    "select name, setting from pg_settings where name in ('server_version', 'synchronous_commit', 'fsync', 'wal_level', 'full_page_writes', 'shared_buffers', 'max_wal_size')",
  );
  const series = new Map<string, Series>();
  for (const contender of contenders) {
    for (const size of sizes) {
      series.set(`${contender}/${size}`, { contender, size, times: new Map(), counters: new Map() });
    }
  }
  const loads: number[] = [];
  const started = Date.now();
  // A failed run is reported and left out; the others go on.
  const failures: Array<{ contender: string; size: number; n: number; error: string }> = [];
  const failed = (contender: string, size: number, n: number, error: unknown): undefined => {
    const message = error instanceof Error ? error.message : String(error);
    failures.push({ contender, size, n, error: message });
    process.stderr.write(`${contender} size ${size} N ${n} failed: ${message}\n`);
    return undefined;
  };
  try {
    // Timing runs, straight to the server, interleaved so that every contender meets the same load.
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const size of sizes) {
        for (const n of stepCounts) {
          for (const contender of contenders) {
            const entry = series.get(`${contender}/${size}`)!;
            if (entry.skipped !== undefined) continue;
            loads.push(loadavg()[0]!);
            const outcome = await withDatabase(admin, (name) =>
              runContenderProcess(scriptOf(contender), n, size, urlOf(name)),
            ).catch((error: unknown) => failed(contender, size, n, error));
            if (outcome === undefined) continue;
            if (outcome.kind === 'skipped') {
              for (const other of sizes) series.get(`${contender}/${other}`)!.skipped = outcome.reason;
              process.stderr.write(`${contender}: skipped: ${outcome.reason}\n`);
              continue;
            }
            const times = entry.times.get(n) ?? [];
            times.push(outcome.ms);
            entry.times.set(n, times);
            process.stderr.write(
              `repeat ${repeat + 1}/${repeats} ${contender} size ${size} N ${n}: ${outcome.ms.toFixed(1)} ms (load ${loadavg()[0]!.toFixed(2)})\n`,
            );
          }
        }
      }
    }
    // Counting runs, through the proxy, at the smallest and the largest N.
    const ends = [Math.min(...stepCounts), Math.max(...stepCounts)];
    for (const size of sizes) {
      for (const n of ends) {
        for (const contender of contenders) {
          const entry = series.get(`${contender}/${size}`)!;
          if (entry.skipped !== undefined) continue;
          const count = (): Promise<RunCounters> =>
            withDatabase(admin, async (name): Promise<RunCounters> => {
              const observer = new pg.Client({ connectionString: urlOf(name) });
              await observer.connect();
              try {
                const inspect = await enableWalInspection(observer);
                let wireBefore = counter.counts();
                let wireAfter = wireBefore;
                let walStart = '';
                let walEnd = '';
                await runContenderProcess(scriptOf(contender), n, size, urlOf(name, counter.port), {
                  beforeWorkflow: async () => {
                    wireBefore = counter.counts();
                    walStart = await walPosition(observer);
                  },
                  afterWorkflow: async () => {
                    wireAfter = counter.counts();
                    walEnd = await walPosition(observer);
                  },
                });
                const wal = await walUsage(observer, walStart, walEnd, inspect);
                return {
                  ...difference(wireBefore, wireAfter),
                  walCommitRecords: wal.ownCommitRecords,
                  walBytes: wal.ownBytes,
                  walFullPageBytes: wal.ownFullPageBytes,
                  lsnBytes: wal.lsnBytes,
                };
              } finally {
                await observer.end();
              }
            });
          // Once more after a failure: a checkpoint may have recycled the run's WAL before it was read.
          const counters = await count()
            .catch(() => count())
            .catch((error: unknown) => failed(contender, size, n, error));
          if (counters === undefined) continue;
          entry.counters.set(n, counters);
          process.stderr.write(`counted ${contender} size ${size} N ${n}: ${JSON.stringify(counters)}\n`);
        }
      }
    }
  } finally {
    await counter.close();
    await admin.end();
  }

  const summaries = [...series.values()].map(summarize);
  const ratios: Record<string, Record<string, number | null>> = {};
  for (const size of sizes) {
    const of = (contender: string): number | undefined => slopeOf(summaries, contender, size);
    const ratio = (top: string, bottom: string): number | null => {
      const [numerator, denominator] = [of(top), of(bottom)];
      return numerator === undefined || denominator === undefined ? null : numerator / denominator;
    };
    ratios[size] = {
      'dbos / aos (target >= 2)': ratio('dbos', 'aos'),
      'langgraph / aos (target >= 3)': ratio('langgraph', 'aos'),
      'aos / floor (target <= 1.5)': ratio('aos', 'floor'),
      'dbos / floor': ratio('dbos', 'floor'),
      'langgraph / floor': ratio('langgraph', 'floor'),
    };
  }
  const report = {
    date: new Date().toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      node: process.version,
      postgres: Object.fromEntries(settings.rows.map((row) => [row.name, row.setting])),
      loadAverage1m:
        loads.length === 0
          ? null
          : { min: Math.min(...loads), median: median(loads), max: Math.max(...loads) },
    },
    versions,
    // warmupSteps: the warm-up workflow of peers/contenders/protocol.ts.
    settings: { stepCounts, sizes, repeats, warmupSteps: 50 },
    summaries,
    ratios,
    failures,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  process.stderr.write(`\n${markdownTables(summaries)}\n`);
  if (failures.length > 0) {
    process.stderr.write(`${failures.length} runs failed (see "failures")\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench/step-overhead peers failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exitCode = 1;
});
