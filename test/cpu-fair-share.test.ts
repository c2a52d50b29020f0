/**
 * Fair share at a rationed device, on every test database: a process that has already
 * made a call in its slice gives the device's next slot to a process that has consumed
 * fewer tokens (virtual runtime) and is ready or parked for the device, and always to one
 * of higher priority (lower nice); the first call of a slice is never deferred. And with
 * a quantum of 0, no slice ends before it has run an operation. No timing is asserted:
 * only who was let through, in what order processes finished, and how many slices ran.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { acquireCpu } from '../src/cpu/devices.js';
import { defineTool, textResult } from '../src/io/tool.js';
import type { Kernel } from '../src/kernel.js';
import type { WorkerOptions } from '../src/process/worker.js';
import { testDatabases } from './support/databases.js';
import { type TestKernel, testKernels } from './support/kernel.js';

const note = defineTool({
  name: 'note',
  description: 'Takes a note.',
  input: z.object({ n: z.number().int() }),
  annotations: { idempotent: true },
  async run(input) {
    return textResult(`noted ${input.n}`);
  },
});

/** The script of an agent that makes `turns` model calls (a note between them), then finishes. */
function scriptOf(turns: number, delayMs: number): string {
  const script = [`delay_ms: ${delayMs}`, 'turns:'];
  for (let turn = 1; turn < turns; turn++) {
    script.push(`  - text: turn ${turn}`, `    tool_calls: [{ name: note, arguments: { n: ${turn} } }]`);
  }
  script.push('  - finish: done {{input}}');
  return `${script.join('\n')}\n`;
}

describe.each(testDatabases)('fair share at a rationed device on $name', (database) => {
  const start = testKernels(database);

  /** A kernel with the note tool; its worker (with `worker` options) is started when `run` is true. */
  async function open(worker: WorkerOptions = {}, run = false): Promise<TestKernel> {
    return start({ kernel: { tools: [note] }, worker, startWorker: run });
  }

  /** An agent file for `turns` calls of `delayMs` each. */
  function agentFile(t: TestKernel, name: string, turns: number, delayMs: number): string {
    return t.agent(name, 'tools: [note, finish]', scriptOf(turns, delayMs));
  }

  async function setRow(k: Kernel, pid: number, fields: string, values: unknown[] = []): Promise<void> {
    await k.db.query(`update aos.processes set ${fields} where pid = $1`, [pid, ...values]);
  }

  it('gives the slot to the process with less virtual runtime, and to higher priority before that', async () => {
    const t = await open();
    const k = t.kernel;
    await k.call('cpu set', { name: 'scripted:*', rpm: 100 });
    const file = agentFile(t, 'grant', 2, 0);
    const spawn = async (input: string, priority = 0) =>
      (await k.call('spawn', { agent: file, input, priority })).pid;
    // No worker runs: the processes stay as set here.
    const hog = await spawn('hog');
    const light = await spawn('light');
    await setRow(k, hog, "state = 'running', vruntime = 5000");
    await setRow(k, light, 'vruntime = 10');

    // The hog asks again in its slice while a lighter process is ready: the light one goes first.
    const deferred = await acquireCpu(k.db, 'scripted:*', hog, 100, true);
    expect(deferred.granted).toBe(false);
    // The first call of a slice is let through all the same, so a slice always makes progress.
    expect((await acquireCpu(k.db, 'scripted:*', hog, 100, false)).granted).toBe(true);
    // The light process has consumed least: nobody is fairer, so it is let through.
    await setRow(k, light, "state = 'running'");
    await setRow(k, hog, "state = 'ready'");
    expect((await acquireCpu(k.db, 'scripted:*', light, 100, true)).granted).toBe(true);

    // A parked process counts too, and is woken: the device has room for it now.
    const parked = await spawn('parked');
    await setRow(
      k,
      parked,
      "state = 'waiting', wait_reason = 'rate-limit', device = 'scripted:*', vruntime = 1, wake_at = now() + interval '1 hour'",
    );
    expect((await acquireCpu(k.db, 'scripted:*', light, 100, true)).granted).toBe(false);
    const woken = await k.db.query<{ due: boolean }>(
      'select wake_at <= now() as due from aos.processes where pid = $1',
      [parked],
    );
    expect(woken.rows[0]!.due).toBe(true);
    // Parked for another device, or for something else, it does not compete for this one.
    await setRow(k, parked, "device = 'openai:*'");
    expect((await acquireCpu(k.db, 'scripted:*', light, 100, true)).granted).toBe(true);

    // Priority (nice) comes before virtual runtime: a higher-priority process that has
    // consumed far more still goes before the light one, and is never deferred for it.
    const urgent = await spawn('urgent', 5);
    await setRow(k, urgent, 'vruntime = 1000000');
    expect((await acquireCpu(k.db, 'scripted:*', light, 100, true)).granted).toBe(false);
    await setRow(k, urgent, "state = 'running'");
    await setRow(k, light, "state = 'ready'");
    expect((await acquireCpu(k.db, 'scripted:*', urgent, 100, true)).granted).toBe(true);
  });

  async function grantsOf(k: Kernel, pid: number): Promise<number> {
    const result = await k.db.query<{ n: number }>(
      'select count(*)::int as n from aos.cpu_grants where pid = $1',
      [pid],
    );
    return result.rows[0]!.n;
  }

  async function untilGranted(k: Kernel, pid: number, count: number): Promise<void> {
    for (let tries = 0; tries < 3000 && (await grantsOf(k, pid)) < count; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await grantsOf(k, pid)).toBeGreaterThanOrEqual(count);
  }

  async function exitedBefore(k: Kernel, first: number, second: number): Promise<boolean> {
    const result = await k.db.query<{ pid: number }>(
      'select pid from aos.processes where pid = any($1::bigint[]) order by exited_at, pid',
      [[first, second]],
    );
    return result.rows[0]!.pid === first;
  }

  it('a process that has consumed much waits behind a newcomer that has consumed little', async () => {
    const t = await open({ concurrency: 1, leaseMs: 2000, pollMs: 20, quantumMs: 60_000 });
    const k = t.kernel;
    await k.call('cpu set', { name: 'scripted:*', maxConcurrent: 1 });
    // One worker slot and a long quantum: without fair share at the device, the hog would
    // keep the worker for all its calls and finish first.
    await t.worker.start();
    const hog = (await k.call('spawn', { agent: agentFile(t, 'hog', 20, 30), input: 'hog' })).pid;
    await untilGranted(k, hog, 3);
    const newcomer = (await k.call('spawn', { agent: agentFile(t, 'newcomer', 3, 30), input: 'new' })).pid;
    for (const pid of [hog, newcomer]) {
      expect((await k.call('wait', { pid, timeout: '60s' })).exitStatus).toBe(0);
    }
    expect(await exitedBefore(k, newcomer, hog)).toBe(true);
    expect(await grantsOf(k, hog)).toBe(20);
  });

  it('with a quantum of 0, every slice moves its process on by one operation at least', async () => {
    let slices = 0;
    const t = await open({
      concurrency: 2,
      leaseMs: 2000,
      pollMs: 20,
      quantumMs: 0,
      onEvent: (event) => {
        if (event.type === 'slice-started') slices += 1;
      },
    });
    const k = t.kernel;
    const file = agentFile(t, 'eager', 3, 0);
    const pids = await Promise.all(
      ['a', 'b', 'c', 'd', 'e', 'f'].map(
        async (input) => (await k.call('spawn', { agent: file, input })).pid,
      ),
    );
    await t.worker.start();
    for (const pid of pids) expect((await k.call('wait', { pid, timeout: '60s' })).exitStatus).toBe(0);
    const operations = await k.db.query<{ n: number }>(
      "select count(*)::int as n from aos.steps where kind in ('model', 'tool')",
    );
    // Six processes ready for two slots: they take turns, but a slice never ends empty-handed.
    expect(slices).toBeGreaterThan(pids.length);
    expect(slices).toBeLessThanOrEqual(operations.rows[0]!.n);
  });

  it('a newcomer of lower priority does not take the slot from a higher-priority process', async () => {
    const t = await open({ concurrency: 1, leaseMs: 2000, pollMs: 20, quantumMs: 60_000 });
    const k = t.kernel;
    await k.call('cpu set', { name: 'scripted:*', maxConcurrent: 1 });
    await t.worker.start();
    const hog = (await k.call('spawn', { agent: agentFile(t, 'hog', 12, 30), input: 'hog', priority: 5 }))
      .pid;
    await untilGranted(k, hog, 3);
    const newcomer = (await k.call('spawn', { agent: agentFile(t, 'newcomer', 3, 30), input: 'new' })).pid;
    for (const pid of [hog, newcomer]) {
      expect((await k.call('wait', { pid, timeout: '60s' })).exitStatus).toBe(0);
    }
    expect(await exitedBefore(k, hog, newcomer)).toBe(true);
  });
});
