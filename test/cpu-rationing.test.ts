/**
 * Devices, rationing, cost and budgets with the scripted CPU, on every test database:
 * a concurrency limit is never exceeded and the waiting process is parked (state
 * waiting, reason rate-limit); cost matches the price table exactly; token, cost and
 * owner budgets raise XCPU (exit 152) with the usage recorded.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../src/kernel.js';
import type { Worker } from '../src/process/worker.js';
import { testDatabases } from './support/databases.js';

function agentFile(name: string, script: string, limits = ''): string {
  const directory = mkdtempSync(join(tmpdir(), 'aos-cpu-'));
  writeFileSync(join(directory, `${name}.yaml`), script);
  writeFileSync(
    join(directory, `${name}.md`),
    `---\nname: ${name}\nmodel: scripted:./${name}.yaml\ntools: [finish, sleep]\n${limits}---\nYou work.\n`,
  );
  return join(directory, `${name}.md`);
}

const threeSlowTurns = `delay_ms: 150
turns:
  - text: one
    tool_calls: [{ name: sleep, arguments: { duration: 1 } }]
  - text: two
    tool_calls: [{ name: sleep, arguments: { duration: 1 } }]
  - finish: done {{input}}
`;

describe.each(testDatabases)('CPU rationing and budgets on $name', (database) => {
  let kernel: Kernel | undefined;
  let worker: Worker | undefined;
  let drop: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await worker?.stop(1000);
    await kernel?.close().catch(() => {});
    await drop?.().catch(() => {});
    worker = undefined;
    kernel = undefined;
  });

  async function start(concurrency = 4): Promise<Kernel> {
    const created = await database.create();
    drop = created.drop;
    kernel = await createKernel({ db: created.db });
    worker = kernel.createWorker({ concurrency, leaseMs: 2000, pollMs: 20, quantumMs: 60_000 });
    await worker.start();
    return kernel;
  }

  it('never runs more requests at once than a device allows, and parks the waiting process', async () => {
    const k = await start(4);
    await k.call('cpu set', { name: 'scripted:*', maxConcurrent: 1 });
    const file = agentFile('slow', threeSlowTurns);
    const pids = await Promise.all(
      ['a', 'b', 'c'].map(async (input) => (await k.call('spawn', { agent: file, input })).pid),
    );
    for (const pid of pids) {
      const done = await k.call('wait', { pid, timeout: '30s' });
      expect(done.exitStatus).toBe(0);
    }
    const grants = await k.db.query<{ granted_at: Date; finished_at: Date }>(
      'select granted_at, finished_at from aos.cpu_grants order by granted_at',
    );
    expect(grants.rows).toHaveLength(9);
    for (let index = 1; index < grants.rows.length; index++) {
      // With one slot, each request starts only after the previous one finished.
      expect(grants.rows[index]!.granted_at.getTime()).toBeGreaterThanOrEqual(
        grants.rows[index - 1]!.finished_at.getTime(),
      );
    }
    // A process parked for a slot records the device it waits on: with one slot and three
    // processes on four worker slots, at least two of them had to wait.
    const parked = await k.db.query("select pid from aos.processes where device = 'scripted:*'");
    expect(parked.rowCount).toBeGreaterThanOrEqual(2);
  });

  it('charges each model step exactly by the price table', async () => {
    const k = await start();
    await k.call('cpu set', { name: 'scripted:*', inputPrice: 3, outputPrice: 15 });
    const file = agentFile('priced', threeSlowTurns.replace('delay_ms: 150', 'delay_ms: 0'));
    const { pid } = await k.call('spawn', { agent: file, input: 'x' });
    const done = await k.call('wait', { pid, timeout: '30s' });
    const steps = await k.db.query<{ usage: { inputTokens: number; outputTokens: number } }>(
      "select usage from aos.steps where pid = $1 and kind = 'model' order by seq",
      [pid],
    );
    const expectedNanos = steps.rows.reduce(
      (sum, step) => sum + step.usage.inputTokens * 3000 + step.usage.outputTokens * 15000,
      0,
    );
    const row = await k.db.query<{ cost_nanos: number }>(
      'select cost_nanos from aos.processes where pid = $1',
      [pid],
    );
    expect(row.rows[0]!.cost_nanos).toBe(expectedNanos);
    expect(done.cost).toBeCloseTo(expectedNanos / 1e9, 12);
    expect(expectedNanos).toBeGreaterThan(0);
  });

  it('stops a process at its token budget with XCPU and the usage recorded', async () => {
    const k = await start();
    const file = agentFile(
      'hungry',
      threeSlowTurns.replace('delay_ms: 150', 'delay_ms: 0'),
      'limits: { max_tokens: 1 }\n',
    );
    const { pid } = await k.call('spawn', { agent: file, input: 'x' });
    const done = await k.call('wait', { pid, timeout: '30s' });
    expect(done.exitStatus).toBe(152);
    expect(done.error?.code).toBe('limit_exceeded');
    expect(done.error?.message).toMatch(/token limit reached/);
    const used = await k.db.query<{ total: number }>(
      "select sum((usage->>'inputTokens')::int + (usage->>'outputTokens')::int) as total from aos.steps where pid = $1 and kind = 'model'",
      [pid],
    );
    expect(done.tokens).toBe(Number(used.rows[0]!.total));
    expect(done.steps).toBe(1);
  });

  it('stops a process at its cost budget given on spawn', async () => {
    const k = await start();
    await k.call('cpu set', { name: 'scripted:*', inputPrice: 1000, outputPrice: 1000 });
    const file = agentFile('spender', threeSlowTurns.replace('delay_ms: 150', 'delay_ms: 0'));
    const { pid } = await k.call('spawn', { agent: file, input: 'x', maxCost: 0.000001 });
    const done = await k.call('wait', { pid, timeout: '30s' });
    expect(done.exitStatus).toBe(152);
    expect(done.error?.message).toMatch(/cost limit reached/);
  });

  it("stops an owner's processes once the owner's budget is spent", async () => {
    const k = await start();
    await k.call('budget', { owner: 'local', maxTokens: 1 });
    const file = agentFile('owned', threeSlowTurns.replace('delay_ms: 150', 'delay_ms: 0'));
    const { pid } = await k.call('spawn', { agent: file, input: 'x' });
    const done = await k.call('wait', { pid, timeout: '30s' });
    expect(done.exitStatus).toBe(152);
    expect(done.error?.message).toMatch(/owner local's token budget reached/);
  });
});
