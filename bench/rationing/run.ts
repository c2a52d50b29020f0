/**
 * bench/rationing: 200 agent processes on 2 workers share one model endpoint limited to
 * 600 requests and 200,000 tokens per minute (the mock OpenAI server enforces it with
 * 429 and retry-after). aos rations the device in PostgreSQL; the naive baseline, in the
 * same run, lets each agent call the API on its own with the SDK's retries. Reports 429s,
 * throughput in the second minute as a share of the binding limit (requests answered and
 * their input tokens, against the two limits; 429s do not count), Jain's fairness index
 * across equal-priority processes, and the median completion time of high- vs low-priority ones.
 *
 *   npm run bench:rationing     (AOS_BENCH_DATABASE_URL; AOS_BENCH_CALLS model calls per agent, default 6;
 *                                AOS_BENCH_QUANTUM_MS, default the workers' own)
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pg from 'pg';
import { z } from 'zod';
import { defineTool, textResult } from '../../src/io/tool.js';
import { createKernel } from '../../src/kernel.js';
import { createPostgresDb } from '../../src/storage/postgres-db.js';
import type { MockReply, RecordedRequest } from '../../src/testing/index.js';
import { startMockOpenAI } from '../../src/testing/mock-openai-server.js';

const serverUrl = process.env.AOS_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const agents = 200;
const highPriority = 20;
const calls = Number(process.env.AOS_BENCH_CALLS ?? 6);
const rpm = 600;
const tpm = 200_000;
const latencyMs = 100;
/** Slice length (AOS_BENCH_QUANTUM_MS); unset, the workers' default, as users get it. */
const quantum =
  process.env.AOS_BENCH_QUANTUM_MS === undefined ? undefined : Number(process.env.AOS_BENCH_QUANTUM_MS);

const noop = defineTool({
  name: 'note',
  description: 'Takes a note.',
  input: z.object({ n: z.number().int() }),
  annotations: { idempotent: true },
  async run(input) {
    return textResult(`noted ${input.n}`);
  },
});

/** The task id (the agent's input) of a request, and how many model turns it has had. */
function taskOf(request: RecordedRequest): { task: string; turn: number } {
  const messages = (request.body.messages as { role: string; content: string | null }[]) ?? [];
  const task = messages.find((message) => message.role === 'user')?.content ?? '?';
  return { task: String(task), turn: messages.filter((message) => message.role === 'assistant').length };
}

function reply(request: RecordedRequest): MockReply {
  const { turn } = taskOf(request);
  return turn + 1 >= calls
    ? { toolCalls: [{ name: 'finish', arguments: { result: 'done' } }] }
    : { toolCalls: [{ name: 'note', arguments: { n: turn } }] };
}

interface RunResult {
  seconds: number;
  requests: number;
  rateLimited: number;
  /** Requests answered in the second minute, as a share of the requests-per-minute limit. */
  requestShare: number;
  /** Their input tokens (as the provider counts them), as a share of the tokens-per-minute limit. */
  tokenShare: number;
  /** The larger of the two: how full the binding limit was. */
  throughputShare: number;
  jain: number;
  medianHighSeconds: number;
  medianLowSeconds: number;
  highToLow: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** The requests the provider answered (not the ones it refused with 429). */
function answeredOf(requests: RecordedRequest[]): RecordedRequest[] {
  return requests.filter((request) => request.status === 200);
}

/** Jain's index over the requests each equal-priority task had answered by the time half of all were. */
function fairness(requests: RecordedRequest[], isHigh: (task: string) => boolean): number {
  const all = answeredOf(requests);
  const answered = all.slice(0, Math.floor(all.length / 2));
  const counts = new Map<string, number>();
  for (let index = highPriority; index < agents; index++) counts.set(`task-${index}`, 0);
  for (const request of answered) {
    const { task } = taskOf(request);
    if (!isHigh(task) && counts.has(task)) counts.set(task, counts.get(task)! + 1);
  }
  const values = [...counts.values()];
  const sum = values.reduce((total, value) => total + value, 0);
  const squares = values.reduce((total, value) => total + value * value, 0);
  return squares === 0 ? 1 : (sum * sum) / (values.length * squares);
}

/**
 * Requests answered in the second minute (steady state, after the first window's burst) and
 * their input tokens, as shares of the two limits; the larger is the binding one. Which one
 * binds depends on the order of the work: the later turns of an agent carry more context.
 */
function steadyShare(
  requests: RecordedRequest[],
  started: number,
): Pick<RunResult, 'requestShare' | 'tokenShare' | 'throughputShare'> {
  const from = started + 60_000;
  const to = from + 60_000;
  const inWindow = answeredOf(requests).filter((request) => request.at >= from && request.at < to);
  const requestShare = inWindow.length / rpm;
  const tokenShare = inWindow.reduce((sum, request) => sum + request.inputTokens, 0) / tpm;
  return { requestShare, tokenShare, throughputShare: Math.max(requestShare, tokenShare) };
}

const isHigh = (task: string) => Number(task.slice(5)) < highPriority;

async function runAos(): Promise<RunResult> {
  const server = await startMockOpenAI({
    replies: reply,
    requestsPerMinute: rpm,
    tokensPerMinute: tpm,
    latencyMs,
  });
  process.env.OPENAI_BASE_URL = `${server.url}/v1`;
  process.env.OPENAI_API_KEY = 'bench';
  const name = `aos_bench_rationing_${process.pid}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const folder = mkdtempSync(join(tmpdir(), 'aos-rationing-'));
  writeFileSync(
    join(folder, 'agent.md'),
    '---\nname: agent\nmodel: openai:mock\ntools: [note, finish]\n---\nWork.\n',
  );
  const kernels = await Promise.all(
    [0, 1].map(async () =>
      createKernel({
        db: createPostgresDb({ connection: url.toString(), maxConnections: 30 }),
        tools: [noop],
      }),
    ),
  );
  const [first] = kernels;
  try {
    await first!.call('cpu set', { name: 'openai:*', rpm, tpm });
    const workers = kernels.map((kernel) =>
      kernel.createWorker({
        concurrency: 20,
        pollMs: 50,
        leaseMs: 10_000,
        ...(quantum === undefined ? {} : { quantumMs: quantum }),
      }),
    );
    const pids: { pid: number; high: boolean }[] = [];
    for (let index = 0; index < agents; index++) {
      const high = index < highPriority;
      const spawned = await first!.call('spawn', {
        agent: join(folder, 'agent.md'),
        input: `task-${index}`,
        priority: high ? 10 : 0,
      });
      pids.push({ pid: spawned.pid, high });
    }
    const started = Date.now();
    for (const worker of workers) await worker.start();
    const finishedAt = new Map<number, number>();
    await Promise.all(
      pids.map(async ({ pid }) => {
        const done = await first!.call('wait', { pid });
        if (done.exitStatus !== 0) throw new Error(`process ${pid} failed: ${done.error?.message}`);
        finishedAt.set(pid, Date.now());
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    for (const worker of workers) await worker.stop();
    const completion = (high: boolean) =>
      median(
        pids
          .filter((entry) => entry.high === high)
          .map((entry) => (finishedAt.get(entry.pid)! - started) / 1000),
      );
    const high = completion(true);
    const low = completion(false);
    return {
      seconds,
      requests: server.stats.requests,
      rateLimited: server.stats.rateLimited,
      ...steadyShare(server.requests, started),
      jain: fairness(server.requests, isHigh),
      medianHighSeconds: high,
      medianLowSeconds: low,
      highToLow: high / low,
    };
  } finally {
    for (const kernel of kernels) await kernel.close();
    await admin.query(`drop database if exists ${name} with (force)`);
    await admin.end();
    await server.close();
  }
}

async function runNaive(): Promise<RunResult> {
  const server = await startMockOpenAI({
    replies: reply,
    requestsPerMinute: rpm,
    tokensPerMinute: tpm,
    latencyMs,
  });
  const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'bench', maxRetries: 50 });
  const started = Date.now();
  const finished: { high: boolean; seconds: number }[] = [];
  try {
    await Promise.all(
      Array.from({ length: agents }, async (_, index) => {
        const messages: OpenAI.ChatCompletionMessageParam[] = [
          { role: 'system', content: 'Work.' },
          { role: 'user', content: `task-${index}` },
        ];
        for (let turn = 0; turn < calls; turn++) {
          const completion = await client.chat.completions.create({
            model: 'mock',
            messages,
            tools: [
              {
                type: 'function',
                function: {
                  name: 'note',
                  description: 'Takes a note.',
                  parameters: { type: 'object', properties: { n: { type: 'integer' } } },
                },
              },
            ],
          });
          const message = completion.choices[0]!.message;
          messages.push({
            role: 'assistant',
            content: message.content,
            tool_calls: message.tool_calls ?? [],
          });
          for (const call of message.tool_calls ?? [])
            messages.push({ role: 'tool', tool_call_id: call.id, content: 'noted' });
        }
        finished.push({ high: index < highPriority, seconds: (Date.now() - started) / 1000 });
      }),
    );
    const high = median(finished.filter((entry) => entry.high).map((entry) => entry.seconds));
    const low = median(finished.filter((entry) => !entry.high).map((entry) => entry.seconds));
    return {
      seconds: (Date.now() - started) / 1000,
      requests: server.stats.requests,
      rateLimited: server.stats.rateLimited,
      ...steadyShare(server.requests, started),
      jain: fairness(server.requests, isHigh),
      medianHighSeconds: high,
      medianLowSeconds: low,
      highToLow: high / low,
    };
  } finally {
    await server.close();
  }
}

async function main(): Promise<void> {
  const aos = await runAos();
  const naive = await runNaive();
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
    setup: {
      agents,
      highPriority,
      callsPerAgent: calls,
      rpm,
      tpm,
      latencyMs,
      workers: 2,
      workerConcurrency: 20,
      quantumMs: quantum ?? 'default',
    },
    aos,
    naive,
    targets: { rateLimited: 0, throughputShare: 0.95, jain: 0.95, highToLow: 0.2 },
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/rationing failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
