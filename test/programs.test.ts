/**
 * Durable programs on PGlite and on the server: operations journaled once with their
 * positions, replay by a worker that never saw the process (steps are not run again,
 * parallel branches replay in the order they ran), divergence detected at the first
 * mismatching operation, approvals, TERM, and the bad paths.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { createKernel, type Kernel } from '../src/kernel.js';
import { defineProgram, type Program } from '../src/process/program.js';
import { testDatabases } from './support/databases.js';
import { reaches, type TestKernel, testKernels } from './support/kernel.js';

/** Counts how often each step body really ran, across kernels in this test process. */
function counter() {
  const runs = new Map<string, number>();
  return {
    run<T>(name: string, value: T): T {
      runs.set(name, (runs.get(name) ?? 0) + 1);
      return value;
    },
    get: (name: string) => runs.get(name) ?? 0,
    all: () => Object.fromEntries(runs),
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A second kernel and worker on the same database, as another machine would run them. */
async function anotherKernel(
  t: TestKernel,
  programs: Program[],
): Promise<{ kernel: Kernel; stop(): Promise<void> }> {
  const kernel = await createKernel({ db: t.kernel.db, programs, migrate: false });
  const worker = kernel.createWorker({ concurrency: 4, leaseMs: 1000, pollMs: 50, quantumMs: 200 });
  await worker.start();
  return { kernel, stop: () => worker.stop(1000) };
}

describe.each(testDatabases)('programs on $name', (database) => {
  const start = testKernels(database);

  it('runs steps, the clock, random numbers, parallel steps and a child agent, each journaled once with its position', async () => {
    const runs = counter();
    const t0 = await start({ startWorker: false });
    const child = t0.agent('echo', 'tools: [finish]', 'turns:\n  - finish: "echo {{input}}"\n');
    await t0.kernel.register(child);
    const program = defineProgram('tour', async (ctx, input) => {
      const upper = await ctx.step('upper', () => runs.run('upper', input.toUpperCase()));
      const now = await ctx.now();
      const random = await ctx.random();
      const [left, right] = await Promise.all([
        ctx.step('left', async () => {
          await pause(30);
          return runs.run('left', 'L');
        }),
        ctx.step('right', () => runs.run('right', 'R')),
      ]);
      const pid = await ctx.spawn('echo', upper);
      const done = await ctx.wait(pid);
      return {
        upper,
        year: now.getUTCFullYear(),
        random: random >= 0 && random < 1,
        left,
        right,
        child: done.result,
      };
    });
    const t = await start({ programs: [program] });
    await t.kernel.register(child);
    const { pid } = await t.kernel.call('spawn', { agent: 'tour', input: 'ada' });
    const done = await t.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({
      exitStatus: 0,
      result: { upper: 'ADA', random: true, left: 'L', right: 'R', child: 'echo ADA' },
    });
    expect((done.result as { year: number }).year).toBeGreaterThanOrEqual(2026);
    // Three steps and two tool calls count as steps; the clock and the random number do not.
    expect(done.steps).toBe(5);
    expect(runs.all()).toEqual({ upper: 1, left: 1, right: 1 });
    const journal = await t.kernel.db.query<{ kind: string; name: string | null; op: number | null }>(
      'select kind, name, op from aos.steps where pid = $1 order by op nulls first, seq',
      [pid],
    );
    expect(journal.rows.map((row) => `${row.op ?? '-'}:${row.kind}:${row.name ?? ''}`)).toEqual([
      '-:spawn:',
      '1:step:upper',
      '2:step:aos.now',
      '3:step:aos.random',
      '4:step:left',
      '5:step:right',
      '6:tool:spawn',
      '7:tool:wait',
      '7:exit:',
    ]);
  });

  it('replays on a worker that never saw the process: completed steps do not run again, parallel branches replay as they ran', async () => {
    const runs = counter();
    const program = defineProgram('resumable', async (ctx) => {
      const branch = (name: string, delays: number[]) =>
        (async () => {
          const values: string[] = [];
          for (const [index, delay] of delays.entries()) {
            values.push(
              await ctx.step(`${name}${index}`, async () => {
                await pause(delay);
                return runs.run(`${name}${index}`, `${name}${index}`);
              }),
            );
          }
          return values.join('');
        })();
      // The branches interleave differently from their call order: replay must follow the journal.
      const [a, b] = await Promise.all([branch('a', [60, 5, 60]), branch('b', [5, 60, 5])]);
      const message = await ctx.recv();
      const after = await ctx.step('after', () => runs.run('after', `${a}+${b}:${message?.message}`));
      return after;
    });
    const t = await start({ programs: [program] });
    const { pid } = await t.kernel.call('spawn', { agent: 'resumable' });
    await reaches(t.kernel, pid, 'waiting', 'message');
    await t.worker.stop(1000);
    const other = await anotherKernel(t, [program]);
    try {
      await other.kernel.call('send', { pid, message: 'go' });
      const done = await other.kernel.call('wait', { pid, timeout: '20s' });
      expect(done).toMatchObject({ exitStatus: 0, result: 'a0a1a2+b0b1b2:go' });
      expect(runs.all()).toEqual({ a0: 1, a1: 1, a2: 1, b0: 1, b1: 1, b2: 1, after: 1 });
      const generations = await t.kernel.db.query<{ count: number }>(
        'select count(distinct generation)::int as count from aos.steps where pid = $1 and op is not null',
        [pid],
      );
      expect(generations.rows[0]!.count).toBe(2);
    } finally {
      await other.stop();
    }
  });

  it('stops a process whose program changed, at the first operation that does not match, naming both', async () => {
    const first = defineProgram('changing', async (ctx) => {
      await ctx.step('fetch', () => 1);
      await ctx.step('save', () => 2);
      await ctx.recv();
      return 'v1';
    });
    const second = defineProgram('changing', async (ctx) => {
      await ctx.step('fetch', () => 1);
      await ctx.step('transform', () => 2);
      await ctx.recv();
      return 'v2';
    });
    const t = await start({ programs: [first] });
    const { pid } = await t.kernel.call('spawn', { agent: 'changing' });
    await reaches(t.kernel, pid, 'waiting', 'message');
    await t.worker.stop(1000);
    const other = await anotherKernel(t, [second]);
    try {
      await other.kernel.call('send', { pid, message: 'go' });
      await reaches(other.kernel, pid, 'stopped', 'diverged');
      const error = await other.kernel
        .call('wait', { pid, timeout: '5s' })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AosError);
      expect((error as AosError).code).toBe('conflict');
      expect((error as AosError).message).toMatch(
        /at operation 2 the journal has step "save" but the program now calls step "transform"/,
      );
      expect((error as AosError).hint).toMatch(/aos kill \d+ CONT/);
      const audit = await other.kernel.call('audit show', { pid, kind: 'diverged' });
      expect(audit).toHaveLength(1);
    } finally {
      await other.stop();
    }
  });

  it('waits for approvals, resumes with the decision, and refuses bad decisions', async () => {
    const program = defineProgram('careful', async (ctx) => {
      const first = await ctx.approval('deploy to staging?');
      const second = await ctx.approval('deploy to production?');
      return { first, second };
    });
    const t = await start({ programs: [program] });
    const { pid } = await t.kernel.call('spawn', { agent: 'careful' });
    await reaches(t.kernel, pid, 'waiting', 'approval');
    const [pending] = await t.kernel.call('approvals', {});
    expect(pending).toMatchObject({ pid, question: 'deploy to staging?', decision: null });
    await t.kernel.call('approve', { pid, id: pending!.id, reason: 'tests are green' });
    await expect(t.kernel.call('approve', { pid, id: pending!.id })).rejects.toMatchObject({
      code: 'conflict',
    });
    await expect(t.kernel.call('approve', { pid, id: 999_999 })).rejects.toMatchObject({ code: 'not_found' });
    await reaches(t.kernel, pid, 'waiting', 'approval');
    const [next] = await t.kernel.call('approvals', { pid });
    expect(next).toMatchObject({ question: 'deploy to production?' });
    await t.kernel.db.query('select aos.deny($1, $2, $3)', [pid, next!.id, 'not on a Friday']);
    const done = await t.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({
      exitStatus: 0,
      result: {
        first: { approved: true, reason: 'tests are green', by: 'user:local' },
        second: { approved: false, reason: 'not on a Friday', by: expect.stringMatching(/^sql:/) },
      },
    });
    expect(await t.kernel.call('approvals', {})).toEqual([]);
    expect(await t.kernel.call('approvals', { all: true })).toHaveLength(2);
  });

  it('lets a program blocked in recv see TERM and wrap up', async () => {
    const program = defineProgram('graceful', async (ctx) => {
      try {
        await ctx.recv();
        return 'got a message';
      } catch (error) {
        return `${ctx.terminating ? 'terminating' : 'not terminating'}: ${(error as Error).message}`;
      }
    });
    const t = await start({ programs: [program] });
    const { pid } = await t.kernel.call('spawn', { agent: 'graceful' });
    await reaches(t.kernel, pid, 'waiting', 'message');
    await t.kernel.call('kill', { pid, signal: 'TERM' });
    expect(await t.kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'terminating: interrupted by signal TERM before it completed',
    });
  });

  it('sleeps durably and ends a failing program with status 1 and its error', async () => {
    const sleeper = defineProgram('sleeper', async (ctx) => {
      const before = await ctx.now();
      await ctx.sleep('300ms');
      const after = await ctx.now();
      return after.getTime() - before.getTime();
    });
    const thrower = defineProgram('thrower', async (ctx) => {
      await ctx.step('fine', () => 'ok');
      throw new Error('boom');
    });
    const mapper = defineProgram('mapper', async (ctx) => {
      await ctx.step('make-map', () => new Map([['a', 1]]));
      return 'unreachable';
    });
    const dated = defineProgram('dated', async () => ({ when: new Date() }));
    const t = await start({ programs: [sleeper, thrower, mapper, dated] });
    const slept = await t.kernel.call('spawn', { agent: 'sleeper' });
    const threw = await t.kernel.call('spawn', { agent: 'thrower' });
    const mapped = await t.kernel.call('spawn', { agent: 'mapper' });
    const dates = await t.kernel.call('spawn', { agent: 'dated' });
    const sleptDone = await t.kernel.call('wait', { pid: slept.pid, timeout: '20s' });
    expect(sleptDone.exitStatus).toBe(0);
    expect(sleptDone.result as number).toBeGreaterThanOrEqual(290);
    expect(await t.kernel.call('wait', { pid: threw.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 1,
      error: { code: 'failed', message: 'boom' },
    });
    const mappedDone = await t.kernel.call('wait', { pid: mapped.pid, timeout: '20s' });
    expect(mappedDone).toMatchObject({ exitStatus: 1, error: { code: 'invalid_input' } });
    expect(mappedDone.error?.message).toMatch(
      /step "make-map" returned a value that cannot be journaled: it is a Map/,
    );
    const datesDone = await t.kernel.call('wait', { pid: dates.pid, timeout: '20s' });
    expect(datesDone).toMatchObject({ exitStatus: 1, error: { code: 'invalid_input' } });
    expect(datesDone.error?.message).toMatch(/is a Date at when.*toISOString/);
  });

  it('registers program modules by path (from spawn, agent files and SQL), and refuses missing or empty ones', async () => {
    const t = await start();
    const folder = mkdtempSync(join(tmpdir(), 'aos-programs-'));
    const index = join(import.meta.dirname, '..', 'src', 'index.ts');
    writeFileSync(
      join(folder, 'shout.ts'),
      `import { defineProgram } from ${JSON.stringify(index)};\n` +
        `export default defineProgram('shout', async (ctx, input: string) => {\n` +
        `  const loud = await ctx.step('upper', () => input.toUpperCase());\n` +
        `  return loud + '!';\n});\n`,
    );
    writeFileSync(join(folder, 'empty.ts'), 'export const nothing = 1;\n');
    writeFileSync(
      join(folder, 'caller.yaml'),
      'turns:\n  - tool_calls: [{ name: spawn, arguments: { agent: shout, input: hi } }]\n  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]\n  - finish: "{{result.0.result}}"\n',
    );
    writeFileSync(
      join(folder, 'caller.md'),
      '---\nname: caller\nmodel: scripted:./caller.yaml\ntools: [spawn, wait, finish]\nagents: [./shout.ts]\n---\nYou call shout.\n',
    );
    const direct = await t.kernel.call('spawn', { agent: join(folder, 'shout.ts'), input: 'hey' });
    expect(await t.kernel.call('wait', { pid: direct.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'HEY!',
    });
    const viaAgent = await t.kernel.call('spawn', { agent: join(folder, 'caller.md') });
    expect(await t.kernel.call('wait', { pid: viaAgent.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'HI!',
    });
    const fromSql = await t.kernel.db.query<{ pid: number }>("select aos.spawn('shout', 'sql') as pid");
    t.kernel.poke();
    expect(await t.kernel.call('wait', { pid: fromSql.rows[0]!.pid, timeout: '20s' })).toMatchObject({
      result: 'SQL!',
    });
    await expect(t.kernel.call('spawn', { agent: join(folder, 'missing.ts') })).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/cannot read program module .*missing\.ts/),
    });
    await expect(t.kernel.call('spawn', { agent: join(folder, 'empty.ts') })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/exports no program/),
    });
  });
});
