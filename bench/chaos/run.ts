/**
 * bench/chaos: durability under chaos (issue 11). N real `aos worker` processes on the
 * PostgreSQL server run about M durable processes (step sequences, Promise.all branches,
 * durable sleeps, parents spawning and waiting for children, scripted agents sending
 * messages to a collector) while the harness SIGKILLs random workers at seeded random
 * instants (starting a replacement each time) and SIGSTOPs one worker past its lease.
 * Then it checks every process's result against the expected one and reports lost
 * processes, re-run steps, takeover latency, deadlocks, lease losses and duplicates.
 * Exits 1 when a correctness count is not zero (usable as a gate), after printing all.
 *
 *   npm run bench:chaos [-- options]     options (or env AOS_CHAOS_<NAME>, e.g. AOS_CHAOS_KILLS=10):
 *     --workers N      worker processes (default 3)
 *     --processes M    processes spawned, children included (default 140)
 *     --kills K        SIGKILLs of random workers (default 30), each while another worker is up
 *     --stops S        SIGSTOPs of a worker for 3 leases, then SIGCONT (default 1)
 *     --lease D        worker lease (default 1s; try 5s)
 *     --duration D     window over which spawns and kills are spread (default 60s)
 *     --deadline D     how long to wait for the processes after the window (default 120s)
 *     --load C         C CPU-burning child processes during the run (default 0)
 *     --seed S         seed of the random instants and the mix (default 11)
 *     --db URL         an existing, empty database (default: a fresh aos_chaos_<random>
 *                      on AOS_BENCH_DATABASE_URL or postgres://postgres@127.0.0.1:5432/postgres, dropped at the end)
 *     --json           one JSON document instead of the readable report
 *     --keep           keep the fresh database for inspection (its URL goes to stderr)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseDuration } from '../../src/duration.js';
import { createKernel } from '../../src/kernel.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import * as measure from './measure.js';
import { formatReport, type Report } from './report.js';
import type { ChaosInput } from './spec.js';
import { agentMessages } from './spec.js';
import { takeovers } from './takeover.js';
import { type ChaosWorker, startCpuBurners, WorkerFleet } from './workers.js';

/** The server fresh databases are made on: AOS_BENCH_DATABASE_URL (as the other benches), else the local one. */
const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  if (index >= 0 && process.argv[index + 1] !== undefined) return process.argv[index + 1]!;
  return process.env[`AOS_CHAOS_${name.toUpperCase()}`] ?? fallback;
}

const options = {
  workers: Number(option('workers', '3')),
  processes: Number(option('processes', '140')),
  kills: Number(option('kills', '30')),
  stops: Number(option('stops', '1')),
  leaseMs: parseDuration(option('lease', '1s'), 'lease'),
  durationMs: parseDuration(option('duration', '60s'), 'duration'),
  deadlineMs: parseDuration(option('deadline', '120s'), 'deadline'),
  load: Number(option('load', '0')),
  seed: Number(option('seed', '11')),
  db: option('db', ''),
  json: process.argv.includes('--json') || process.env.AOS_CHAOS_JSON === '1',
  keep: process.argv.includes('--keep') || process.env.AOS_CHAOS_KEEP === '1',
};

/** mulberry32: a small seeded generator, so a seed gives the same instants and mix. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = seeded(options.seed);
const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Spawn {
  at: number;
  agent: string;
  input: ChaosInput | 'collector';
}

/** The mix: about M processes in all, children included, spawned at instants over 70% of the window. */
function plan(total: number, window: number): { spawns: Spawn[]; agents: number; parents: number } {
  const agents = Math.max(2, Math.round(total * 0.085));
  const parents = Math.max(1, Math.round(total * 0.07));
  const sleepers = Math.max(1, Math.round(total * 0.14));
  const spawns: Spawn[] = [];
  const at = () => Math.floor(random() * window * 0.7);
  const base = (tag: string): ChaosInput => ({ tag, steps: 0, width: 0, sleepMs: 0, count: 0 });
  let childCount = 0;
  for (let index = 0; index < parents; index++) {
    const width = between(2, 3);
    childCount += width;
    spawns.push({
      at: at(),
      agent: 'chaos-parent',
      input: { ...base(`parent-${index}`), width, steps: between(3, 5) },
    });
  }
  for (let index = 0; index < sleepers; index++) {
    spawns.push({
      at: at(),
      agent: 'chaos-sleeper',
      input: { ...base(`sleeper-${index}`), sleepMs: between(500, 2500) },
    });
  }
  for (let index = 0; index < agents; index++)
    spawns.push({ at: at(), agent: 'chaos-messenger', input: 'collector' });
  const rest = Math.max(2, total - 1 - agents - parents - childCount - sleepers);
  for (let index = 0; index < rest; index++) {
    if (index % 2 === 0) {
      spawns.push({
        at: at(),
        agent: 'chaos-sequence',
        input: { ...base(`sequence-${index}`), steps: between(8, 20) },
      });
    } else {
      spawns.push({
        at: at(),
        agent: 'chaos-parallel',
        input: { ...base(`parallel-${index}`), width: between(3, 4), steps: between(3, 6) },
      });
    }
  }
  return { spawns: spawns.sort((a, b) => a.at - b.at), agents, parents };
}

/**
 * Writes the scripted agent (three sends to the collector) into a temp folder. The
 * collector's pid is written into the script: the send tool wants a number, and a
 * template of the input gives a string.
 */
function writeAgent(collectorPid: number): string {
  const folder = mkdtempSync(join(tmpdir(), 'aos-chaos-'));
  const turns = agentMessages.map(
    (message) =>
      `  - text: "sending ${message}"\n    tool_calls: [{ name: send, arguments: { pid: ${collectorPid}, message: ${message} } }]`,
  );
  writeFileSync(
    join(folder, 'messenger.yaml'),
    `delay_ms: 30\nturns:\n${turns.join('\n')}\n  - finish: "sent 3"\n`,
  );
  const agent = join(folder, 'messenger.md');
  writeFileSync(
    agent,
    '---\nname: chaos-messenger\nmodel: scripted:./messenger.yaml\ntools: [send, finish]\n---\nSend three messages.\n',
  );
  return agent;
}

async function freshDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (options.db !== '') return { url: options.db, drop: async () => {} };
  const name = `aos_chaos_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}

async function main(): Promise<number> {
  const loadAtStart = loadavg()[0]!;
  const database = await freshDatabase();
  const db = createPostgresDb({ connection: database.url, maxConnections: 4 });
  const kernel = await createKernel({ db, migrate: true });
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  const burners = startCpuBurners(options.load);
  const fleet = new WorkerFleet({
    cli: join(import.meta.dirname, '../../src/cli/main.js'),
    programs: join(import.meta.dirname, 'programs.js'),
    databaseUrl: database.url,
    leaseMs: options.leaseMs,
    concurrency: 10,
    pollMs: 100,
  });
  const onSignal = () => {
    fleet.killAll();
    burners.stop();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  try {
    await client.query(
      `create table chaos_effects (id bigserial primary key, pid bigint not null, name text not null,
         worker int not null, started_at timestamptz not null default clock_timestamp(), finished_at timestamptz)`,
    );
    await kernel.register(join(import.meta.dirname, 'programs.js'));
    const mix = plan(options.processes, options.durationMs);
    const deadlocksBefore = await measure.deadlocks(client);
    const collector = await kernel.call('spawn', {
      agent: 'chaos-collector',
      input: JSON.stringify({
        tag: 'collector',
        steps: 0,
        width: 0,
        sleepMs: 0,
        count: mix.agents * agentMessages.length,
      }),
    });
    await kernel.register(writeAgent(collector.pid));
    for (let index = 0; index < options.workers; index++) fleet.start();

    const started = Date.now();
    const killAt = Array.from(
      { length: options.kills },
      () => 1000 + random() * (options.durationMs - 1000),
    ).sort((a, b) => a - b);
    const stopAt = Array.from(
      { length: options.stops },
      () => options.durationMs * (0.3 + 0.3 * random()),
    ).sort((a, b) => a - b);
    const kills: { worker: number; at: number; held: number[] }[] = [];
    const stops: { worker: number; at: number; continuedAt?: number; held: number[] }[] = [];
    const agentPids: number[] = [];
    const loads: number[] = [];
    const loadSampler = setInterval(() => loads.push(loadavg()[0]!), 5000);
    const stopped = new Set<ChaosWorker>();
    /** Lease time left at the incident, by pid: takeover less this is the delay after the lease expired. */
    const leaseLeft = new Map<number, number>();
    const held = async (worker: ChaosWorker) => {
      const rows = await client.query<{ pid: number; left_ms: number }>(
        `select pid::int, (extract(epoch from lease_expires_at - now()) * 1000)::int as left_ms
           from aos.processes where state = 'running' and lease_owner like $1`,
        [`%:${worker.osPid}:%`],
      );
      for (const row of rows.rows) leaseLeft.set(row.pid, row.left_ms);
      return rows.rows.map((row) => row.pid);
    };

    /**
     * A random worker to kill or stop, among those claiming work, once at least one other
     * would still claim work after it: takeover measures the lease, not a fleet with no
     * worker up (a replacement takes a second or two to start on a loaded machine).
     */
    const pickVictim = async (): Promise<ChaosWorker | undefined> => {
      const giveUp = Date.now() + 30_000;
      while (Date.now() < giveUp) {
        const ready = fleet.live().filter((worker) => worker.readyAt !== undefined && !stopped.has(worker));
        if (ready.length >= 2) return ready[Math.floor(random() * ready.length)];
        await sleep(20);
      }
      return undefined;
    };
    const spawning = (async () => {
      for (const spawn of mix.spawns) {
        const wait = started + spawn.at - Date.now();
        if (wait > 0) await sleep(wait);
        const input = spawn.input === 'collector' ? `to ${collector.pid}` : JSON.stringify(spawn.input);
        const { pid } = await kernel.call('spawn', { agent: spawn.agent, input });
        if (spawn.agent === 'chaos-messenger') agentPids.push(pid);
      }
    })();
    const killing = (async () => {
      for (const at of killAt) {
        const wait = started + at - Date.now();
        if (wait > 0) await sleep(wait);
        const victim = await pickVictim();
        if (victim === undefined) continue;
        fleet.kill(victim);
        kills.push({ worker: victim.osPid, at: victim.killedAt!, held: await held(victim) });
        fleet.start();
      }
    })();
    const stopping = (async () => {
      for (const at of stopAt) {
        const wait = started + at - Date.now();
        if (wait > 0) await sleep(wait);
        const victim = await pickVictim();
        if (victim === undefined) continue;
        fleet.stop(victim);
        stopped.add(victim);
        const record: (typeof stops)[number] = {
          worker: victim.osPid,
          at: victim.stoppedAt!,
          held: await held(victim),
        };
        stops.push(record);
        await sleep(3 * options.leaseMs);
        fleet.resume(victim);
        record.continuedAt = victim.continuedAt!;
        stopped.delete(victim);
      }
    })();
    await Promise.all([spawning, killing, stopping]);
    const windowEnded = Date.now();

    // Wait for every process to exit (or be stopped as diverged), up to the deadline.
    const deadline = windowEnded + options.deadlineMs;
    while (Date.now() < deadline) {
      const pending = await client.query<{ count: number }>(
        "select count(*)::int as count from aos.processes where state <> 'exited' and not (state = 'stopped' and wait_reason = 'diverged')",
      );
      if (pending.rows[0]!.count === 0) break;
      await sleep(500);
    }
    const finished = Date.now();
    clearInterval(loadSampler);
    loads.push(loadavg()[0]!);
    burners.stop();
    await fleet.shutdown();
    await sleep(1500);

    const lostResult = await measure.lostProcesses(client, collector.pid, agentPids);
    const kinds = (kind: measure.LostProcess['kind']) =>
      lostResult.lost.filter((lost) => lost.kind === kind).length;
    const reruns = await measure.journaledReruns(client);
    const stoppedWorkers = new Set(stops.map((stop) => stop.worker));
    const liveLeaseLosses = fleet.events.filter(
      (event) =>
        event.type === 'slice-ended' &&
        event.outcome === 'lease-lost' &&
        !stops.some((stop) => stop.worker === event.worker && event.at >= stop.at),
    );
    const stoppedLeaseLosses =
      fleet.events.filter(
        (event) =>
          event.type === 'slice-ended' && event.outcome === 'lease-lost' && stoppedWorkers.has(event.worker),
      ).length - liveLeaseLosses.filter((event) => stoppedWorkers.has(event.worker)).length;
    const errors = new Map<string, number>();
    for (const event of fleet.events) {
      if (event.type !== 'error') continue;
      const key = (event.message ?? '').slice(0, 120);
      errors.set(key, (errors.get(key) ?? 0) + 1);
    }
    const killTakeovers = takeovers(fleet.events, kills, leaseLeft);
    const stopTakeovers = takeovers(fleet.events, stops, leaseLeft);
    const messages = await measure.messageCounts(client, collector.pid, agentPids);
    const models = await measure.modelTurns(client);
    const finals = await measure.duplicateFinals(client);
    const deadlocksAfter = await measure.deadlocks(client);
    const report: Report = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        loadAtStart,
        loadDuringRun: { min: Math.min(...loads), max: Math.max(...loads) },
      },
      options: { ...options, db: options.db === '' ? 'fresh database' : 'given', keep: undefined },
      durationS: { window: (windowEnded - started) / 1000, drain: (finished - windowEnded) / 1000 },
      processes: lostResult.total,
      workersStarted: fleet.all.length,
      kills: kills.length,
      stops: stops.length,
      slices: fleet.events.filter((event) => event.type === 'slice-started').length,
      journal: await measure.journalTotals(client),
      lost: {
        total: lostResult.lost.length,
        failed: kinds('failed'),
        wrongResult: kinds('wrong-result'),
        diverged: kinds('diverged'),
        stuck: kinds('stuck'),
        examples: lostResult.lost.slice(0, 12),
      },
      journaledReruns: {
        total: reruns.length,
        byStoppedWorker: reruns.filter((rerun) => stoppedWorkers.has(rerun.worker)).length,
        examples: reruns.slice(0, 8),
      },
      inFlight: await measure.inFlightClasses(client, kills),
      overlappingRuns: await measure.overlappingRuns(client),
      takeover: { leaseMs: options.leaseMs, afterKill: killTakeovers, afterStop: stopTakeovers },
      deadlocks: deadlocksAfter - deadlocksBefore,
      leaseLosses: { liveWorkers: liveLeaseLosses.length, stoppedWorker: stoppedLeaseLosses },
      messages,
      modelTurns: models,
      duplicateFinals: finals,
      errors: [...errors]
        .map(([message, count]) => ({ message, count }))
        .sort((a, b) => b.count - a.count)
        .slice(0, 10),
    };
    const failedGate =
      report.lost.total > 0 ||
      report.journaledReruns.total > 0 ||
      report.deadlocks > 0 ||
      (killTakeovers.maxMs ?? 0) > options.leaseMs + 1000 ||
      killTakeovers.never > 0 ||
      messages.receivedOnce !== messages.expected ||
      models.duplicated > 0 ||
      finals.length > 0;
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    if (fleet.stderr.length > 0 && !options.json) {
      process.stderr.write(`worker stderr (first lines):\n${fleet.stderr.slice(0, 20).join('\n')}\n`);
    }
    return failedGate ? 1 : 0;
  } finally {
    fleet.killAll();
    burners.stop();
    await client.end();
    await kernel.close();
    if (options.keep) {
      const log = join(mkdtempSync(join(tmpdir(), 'aos-chaos-events-')), 'events.jsonl');
      writeFileSync(log, fleet.events.map((event) => JSON.stringify(event)).join('\n'));
      process.stderr.write(`kept the database: ${database.url}\nworker events: ${log}\n`);
    } else await database.drop();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bench/chaos failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 2;
  },
);
