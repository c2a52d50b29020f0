/**
 * A kernel with a running worker on a fresh test database, and agent files written to a
 * temporary folder, for the process tests. The worker uses short leases, quick polls and
 * a short quantum, so slices yield and leases are renewed often, as under load.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { createKernel, type Kernel, type KernelOptions } from '../../src/kernel.js';
import type { Worker, WorkerOptions } from '../../src/process/worker.js';
import type { TestDatabase } from './databases.js';

export interface TestKernel {
  kernel: Kernel;
  worker: Worker;
  /** The database's URL on the server (for subprocesses); undefined on PGlite. */
  url: string | undefined;
  /** Writes an agent file (front matter fields as YAML lines) and its script; returns the agent file's path. */
  agent(name: string, frontMatter: string, script: string): string;
  /** Writes an agent file whose model is `model` (e.g. openai:mock-model), with `prompt` as its body; returns its path. */
  modelAgent(name: string, model: string, frontMatter: string, prompt?: string): string;
  /** Makes another worker with the same options and starts it; it is stopped by `close`. */
  startWorker(options?: WorkerOptions): Promise<Worker>;
  close(): Promise<void>;
}

export interface TestKernelOptions {
  /** Start the worker at once; default true. With false, call `worker.start()` yourself. */
  startWorker?: boolean;
  /** Overrides of the worker's options. */
  worker?: WorkerOptions;
  /** Programs (or program module paths) for the kernel. */
  programs?: KernelOptions['programs'];
  /** Other kernel options (e.g. otlp). */
  kernel?: Omit<KernelOptions, 'db' | 'programs'>;
}

/** The test worker's options: short leases, quick polls, a short quantum. */
export const testWorkerOptions: WorkerOptions = { concurrency: 8, leaseMs: 1000, pollMs: 50, quantumMs: 200 };

/** Starts a kernel and a fast worker on a new database. */
export async function startTestKernel(
  database: TestDatabase,
  options: TestKernelOptions = {},
): Promise<TestKernel> {
  const created = await database.create();
  const kernel = await createKernel({
    ...options.kernel,
    db: created.db,
    ...(options.programs === undefined ? {} : { programs: options.programs }),
  });
  const workerOptions = { ...testWorkerOptions, ...options.worker };
  const worker = kernel.createWorker(workerOptions);
  const workers = [worker];
  if (options.startWorker ?? true) await worker.start();
  const folder = mkdtempSync(join(tmpdir(), 'aos-test-'));
  return {
    kernel,
    worker,
    url: created.url,
    agent(name, frontMatter, script) {
      writeFileSync(join(folder, `${name}.yaml`), script);
      writeFileSync(
        join(folder, `${name}.md`),
        `---\nname: ${name}\nmodel: scripted:./${name}.yaml\n${frontMatter}\n---\nYou are ${name}.\n`,
      );
      return join(folder, `${name}.md`);
    },
    modelAgent(name, model, frontMatter, prompt = `You are ${name}.`) {
      writeFileSync(
        join(folder, `${name}.md`),
        `---\nname: ${name}\nmodel: ${model}\n${frontMatter}\n---\n${prompt}\n`,
      );
      return join(folder, `${name}.md`);
    },
    async startWorker(overrides) {
      const another = kernel.createWorker({ ...workerOptions, ...overrides });
      workers.push(another);
      await another.start();
      return another;
    },
    async close() {
      for (const each of workers) await each.stop(1000);
      await kernel.otlp?.shutdown();
      await created.drop();
    },
  };
}

/** A tool call of a process as its journal holds it: the tool, how it ended, the result's text. */
export interface JournaledToolCall {
  name: string;
  status: string;
  content: string;
  isError: boolean;
}

/** The tool calls of process `pid` other than finish, in journal order. */
export async function journaledToolCalls(kernel: Kernel, pid: number): Promise<JournaledToolCall[]> {
  const steps = await kernel.db.query<{
    name: string;
    status: string;
    output: { content: string; isError?: boolean };
  }>(
    "select name, status, output from aos.steps where pid = $1 and kind = 'tool' and name <> 'finish' order by seq",
    [pid],
  );
  return steps.rows.map((step) => ({
    name: step.name,
    status: step.status,
    content: step.output.content,
    isError: step.output.isError === true,
  }));
}

/** For a describe block: returns `start()`, which makes a fresh test kernel that is closed after each test. */
export function testKernels(database: TestDatabase): (options?: TestKernelOptions) => Promise<TestKernel> {
  let current: TestKernel | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (options) => {
    current = await startTestKernel(database, options);
    return current;
  };
}

/** Polls until `probe` returns a value, or throws after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The state of a process as ps --all shows it (undefined when there is no such process). */
export async function stateOf(kernel: Kernel, pid: number): Promise<string | undefined> {
  return (await kernel.call('ps', { all: true })).find((row) => row.pid === pid)?.state;
}

/** Resolves once process `pid` is in `state` (and, when given, waits for `reason`). */
export function reaches(kernel: Kernel, pid: number, state: string, reason?: string): Promise<true> {
  return eventually(`process ${pid} to be ${state}${reason === undefined ? '' : `/${reason}`}`, async () => {
    const row = (await kernel.call('ps', { all: true })).find((process) => process.pid === pid);
    return row?.state === state && (reason === undefined || row.waitReason === reason) ? true : undefined;
  });
}
