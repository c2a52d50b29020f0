/**
 * A kernel with a running worker on a fresh test database, and agent files written to a
 * temporary folder, for the process tests.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { createKernel, type Kernel } from '../../src/kernel.js';
import type { Worker } from '../../src/process/worker.js';
import type { TestDatabase } from './databases.js';

export interface TestKernel {
  kernel: Kernel;
  worker: Worker;
  /** Writes an agent file (front matter fields as YAML lines) and its script; returns the agent file's path. */
  agent(name: string, frontMatter: string, script: string): string;
  close(): Promise<void>;
}

/** Starts a kernel and a fast worker (short lease, quick polls) on a new database. */
export async function startTestKernel(database: TestDatabase): Promise<TestKernel> {
  const created = await database.create();
  const kernel = await createKernel({ db: created.db });
  const worker = kernel.createWorker({ concurrency: 8, leaseMs: 2000, pollMs: 20, quantumMs: 60_000 });
  await worker.start();
  const folder = mkdtempSync(join(tmpdir(), 'aos-test-'));
  return {
    kernel,
    worker,
    agent(name, frontMatter, script) {
      writeFileSync(join(folder, `${name}.yaml`), script);
      writeFileSync(
        join(folder, `${name}.md`),
        `---\nname: ${name}\nmodel: scripted:./${name}.yaml\n${frontMatter}\n---\nYou are ${name}.\n`,
      );
      return join(folder, `${name}.md`);
    },
    async close() {
      await worker.stop(1000);
      await created.drop();
    },
  };
}

/** For a describe block: returns `start()`, which makes a fresh test kernel that is closed after each test. */
export function testKernels(database: TestDatabase): () => Promise<TestKernel> {
  let current: TestKernel | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async () => {
    current = await startTestKernel(database);
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
