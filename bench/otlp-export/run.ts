/**
 * bench/otlp-export: what exporting a process's trace costs, on the PostgreSQL server.
 * One process whose scripted CPU asks for N no-op tool calls in one turn (N + 3 steps),
 * run to its exit; then its trace is exported on demand to a mock collector on
 * loopback, several times: time from the call to the collector's answer (journal read,
 * spans built with the SDK, JSON encoded and sent), spans per second, bytes per span,
 * and the longest the export blocked the event loop (what a worker's heartbeats wait).
 *
 *   npm run bench:otlp-export      (AOS_BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { z } from 'zod';
import { defineTool, textResult } from '../../src/io/tool.js';
import { createKernel } from '../../src/kernel.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import { startMockOtlpCollector } from '../../src/testing/index.js';
import { createOtlpExporter } from '../../src/trust/otlp-export.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const sizes = (process.env.AOS_BENCH_CALLS ?? '100,1000,5000').split(',').map(Number);
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

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  const name = `aos_bench_otlp_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const collector = await startMockOtlpCollector();
  const db = createPostgresDb({ connection: url.toString(), maxConnections: 4 });
  const kernel = await createKernel({ db, tools: [noop], otlp: false });
  const exporter = createOtlpExporter(db, { url: collector.tracesUrl });
  const folder = mkdtempSync(join(tmpdir(), 'aos-bench-'));
  const worker = kernel.createWorker({ concurrency: 1, pollMs: 1, leaseMs: 30_000, quantumMs: 3_600_000 });
  await worker.start();
  try {
    const version = (await db.query<{ server_version: string }>('show server_version')).rows[0]!
      .server_version;
    const results = [];
    for (const calls of sizes) {
      const agent = `calls${calls}`;
      const toolCalls = Array.from({ length: calls }, (_, i) => `{ name: noop, arguments: { i: ${i} } }`);
      writeFileSync(
        join(folder, `${agent}.yaml`),
        `turns:\n  - tool_calls: [${toolCalls.join(', ')}]\n  - finish: done\n`,
      );
      writeFileSync(
        join(folder, `${agent}.md`),
        `---\nname: ${agent}\nmodel: scripted:./${agent}.yaml\ntools: [noop, finish]\n---\nCalls.\n`,
      );
      const { pid } = await kernel.call('spawn', { agent: join(folder, `${agent}.md`) });
      await kernel.call('wait', { pid, timeout: '10m' });
      const times: number[] = [];
      const blocked: number[] = [];
      let spans = 0;
      let bytes = 0;
      for (let round = 0; round < repeats; round++) {
        const requestsBefore = collector.requests.length;
        const delay = monitorEventLoopDelay({ resolution: 5 });
        delay.enable();
        const started = process.hrtime.bigint();
        const exported = await exporter.exportProcess(pid);
        times.push(Number(process.hrtime.bigint() - started) / 1e6);
        delay.disable();
        blocked.push(delay.max / 1e6);
        spans = exported.spans;
        bytes = collector.requests
          .slice(requestsBefore)
          .reduce((total, request) => total + JSON.stringify(request.body).length, 0);
      }
      const ms = median(times);
      results.push({
        toolCalls: calls,
        spans,
        msPerExport: Number(ms.toFixed(1)),
        spansPerSecond: Math.round(spans / (ms / 1000)),
        bytesPerSpan: Math.round(bytes / spans),
        longestEventLoopBlockMs: Number(median(blocked).toFixed(1)),
      });
    }
    const result = {
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown', postgres: version },
      repeats,
      results,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await worker.stop();
    await exporter.shutdown();
    await kernel.close();
    await collector.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/otlp-export failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
