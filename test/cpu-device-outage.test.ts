/**
 * An outage of a model endpoint while 50 processes use it: for 30 s (10 s on PGlite) every
 * connection to it is dropped. No process fails: each parks (waiting, reason device) while
 * one circuit breaker, shared through the database, lets a single prober try the endpoint
 * at growing intervals, so the endpoint sees a few attempts, not 50 processes' retries.
 * When it comes back, the probe's success wakes everyone, all 50 finish, and the journal
 * holds each model turn answered once.
 */

import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, textResult } from '../src/io/tool.js';
import { createKernel, type Kernel } from '../src/kernel.js';
import type { Worker } from '../src/process/worker.js';
import type { MockServer, RecordedRequest } from '../src/testing/index.js';
import { startMockOpenAI } from '../src/testing/mock-openai-server.js';
import { testDatabases } from './support/databases.js';

const processes = 50;
const turns = 3;

const note = defineTool({
  name: 'note',
  description: 'Takes a note.',
  input: z.object({ n: z.number().int() }),
  annotations: { idempotent: true },
  async run(input) {
    return textResult(`noted ${input.n}`);
  },
});

/** Turn 0 sleeps (so every process is between calls when the outage starts), turn 1 notes, turn 2 finishes. */
function reply(request: RecordedRequest) {
  const messages = (request.body.messages as { role: string }[]) ?? [];
  const turn = messages.filter((message) => message.role === 'assistant').length;
  if (turn === 0) return { toolCalls: [{ name: 'sleep', arguments: { duration: '3s' } }] };
  if (turn < turns - 1) return { toolCalls: [{ name: 'note', arguments: { n: turn } }] };
  return { toolCalls: [{ name: 'finish', arguments: { result: 'done' } }] };
}

/** A TCP server on `port` that drops every connection at once, counting them: the endpoint is down. */
async function startDeadEndpoint(
  port: number,
): Promise<{ connections: () => number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(testDatabases)('an endpoint outage under 50 processes on $name', (database) => {
  let kernel: Kernel | undefined;
  let workers: Worker[] = [];
  let server: MockServer | undefined;
  let drop: (() => Promise<void>) | undefined;
  const environment = { url: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY };

  afterEach(async () => {
    await Promise.all(workers.map((worker) => worker.stop(2000)));
    await kernel?.close().catch(() => {});
    await drop?.().catch(() => {});
    await server?.close().catch(() => {});
    workers = [];
    kernel = undefined;
    server = undefined;
    process.env.OPENAI_BASE_URL = environment.url;
    process.env.OPENAI_API_KEY = environment.key;
    if (environment.url === undefined) delete process.env.OPENAI_BASE_URL;
    if (environment.key === undefined) delete process.env.OPENAI_API_KEY;
  });

  const outageSeconds = database.name === 'postgres' ? 30 : 10;

  it(`parks every process for a ${outageSeconds} s outage, probes a few times a second at most, and finishes all after`, async () => {
    server = await startMockOpenAI({ replies: reply });
    const port = Number(new URL(server.url).port);
    process.env.OPENAI_BASE_URL = `${server.url}/v1`;
    process.env.OPENAI_API_KEY = 'test';
    const created = await database.create();
    drop = created.drop;
    kernel = await createKernel({ db: created.db, tools: [note] });
    const k = kernel;
    workers = [0, 1].map(() => k.createWorker({ concurrency: 20, pollMs: 50, leaseMs: 5000 }));
    await Promise.all(workers.map((worker) => worker.start()));
    const folder = mkdtempSync(join(tmpdir(), 'aos-outage-'));
    const file = join(folder, 'agent.md');
    writeFileSync(
      file,
      '---\nname: agent\nmodel: openai:mock-model\ntools: [note, sleep, finish]\n---\nWork.\n',
    );
    const pids: number[] = [];
    for (let index = 0; index < processes; index++) {
      pids.push((await k.call('spawn', { agent: file, input: `task ${index}` })).pid);
    }
    // Every process has had its first turn answered: the endpoint goes down while they sleep.
    await until(async () => server!.stats.completions >= processes, 'the first turns');
    const answeredBefore = server.stats.completions;
    await server.close();
    server = undefined;
    const dead = await startDeadEndpoint(port);
    const outageStarted = Date.now();
    await new Promise((resolve) => setTimeout(resolve, outageSeconds * 1000));
    const attempts = dead.connections();
    const outageMs = Date.now() - outageStarted;
    const states = await k.db.query<{ state: string; wait_reason: string | null; count: number }>(
      'select state, wait_reason, count(*)::int as count from aos.processes group by 1, 2',
    );
    const health = await k.call('cpu', {});
    await dead.close();
    server = await startMockOpenAI({ replies: reply, port });

    // During the outage: nobody exited, nearly everyone was parked on the device, and the
    // endpoint saw a few connections a second at most (50 processes retrying would be 250+).
    const count = (state: string, reason?: string) =>
      states.rows
        .filter((row) => row.state === state && (reason === undefined || row.wait_reason === reason))
        .reduce((sum, row) => sum + row.count, 0);
    expect(count('exited')).toBe(0);
    expect(count('waiting', 'device')).toBeGreaterThanOrEqual(processes - 10);
    expect(attempts).toBeGreaterThan(0);
    expect(attempts).toBeLessThanOrEqual(Math.ceil((outageMs / 1000) * 2) + 10);
    const device = health.find((entry) => entry.name === 'openai:mock-model');
    expect(device?.state).toBe('down');
    expect(device?.lastError?.code).toBe('unavailable');
    expect(device?.nextProbeAt).toBeInstanceOf(Date);
    console.log(`${database.name}: ${attempts} connections to the dead endpoint in ${outageMs} ms`);

    for (const pid of pids) {
      const done = await k.call('wait', { pid, timeout: '90s' });
      expect(done.exitStatus).toBe(0);
    }
    // Each model turn answered once: three answered model steps per process, no failed one,
    // and the provider answered exactly that many completions.
    const steps = await k.db.query<{ pid: number; status: string; count: number }>(
      "select pid, status, count(*)::int as count from aos.steps where kind = 'model' group by 1, 2",
    );
    expect(steps.rows.filter((row) => row.status !== 'done')).toEqual([]);
    expect(steps.rows).toHaveLength(processes);
    for (const row of steps.rows) expect(row.count).toBe(turns);
    expect(answeredBefore + server.stats.completions).toBe(processes * turns);
    const after = await k.call('cpu', {});
    expect(after.find((entry) => entry.name === 'openai:mock-model')?.state).toBe('up');
  }, 180_000);
});
