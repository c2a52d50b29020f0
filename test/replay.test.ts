/**
 * Replay and fork on PGlite and the server: a finished process replays identically
 * (every operation from the journal, every model request rebuilt byte for byte, the same
 * end); a changed journal is caught; a fork at step k shares the steps before k, runs
 * live from k and goes its own way.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool, textResult } from '../src/io/tool.js';
import { createKernel } from '../src/kernel.js';
import { defineProgram } from '../src/process/program.js';
import { testDatabases } from './support/databases.js';
import { testKernels } from './support/kernel.js';

describe.each(testDatabases)('replay and fork on $name', (database) => {
  const start = testKernels(database);

  it('replays a finished agent and a finished program identically, and notices a changed journal', async () => {
    const program = defineProgram('counter', async (ctx, input) => {
      const parts = await Promise.all([ctx.step('a', () => `${input}-a`), ctx.step('b', () => `${input}-b`)]);
      await ctx.sleep(1);
      return { parts, at: (await ctx.now()).getUTCFullYear() > 2000 };
    });
    const t = await start({ programs: [program] });
    const child = t.agent('helper', 'tools: [finish]', 'turns:\n  - finish: "helped {{input}}"\n');
    const parent = t.agent(
      'parent',
      `tools: [sleep, spawn, wait, finish]\nagents: [./helper.md]`,
      [
        'turns:',
        '  - text: "Resting first."',
        '    tool_calls: [{ name: sleep, arguments: { duration: 1 } }]',
        '  - tool_calls: [{ name: spawn, arguments: { agent: helper, input: "{{input}}" } }]',
        '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]',
        '  - finish: "{{result.0.result}}"',
        '',
      ].join('\n'),
    );
    void child;
    const agent = await t.kernel.call('spawn', { agent: parent, input: 'Ada' });
    const steps = await t.kernel.call('spawn', { agent: 'counter', input: 'x' });
    expect(await t.kernel.call('wait', { pid: agent.pid, timeout: '30s' })).toMatchObject({
      result: 'helped Ada',
    });
    expect(await t.kernel.call('wait', { pid: steps.pid, timeout: '30s' })).toMatchObject({ exitStatus: 0 });

    const agentReplay = await t.kernel.call('replay', { pid: agent.pid });
    expect(agentReplay).toMatchObject({
      identical: true,
      modelCalls: 4,
      requestsCompared: 4,
      differences: [],
    });
    expect(agentReplay.operations).toBe(8);
    expect(agentReplay.replayed).toEqual(agentReplay.recorded);
    const programReplay = await t.kernel.call('replay', { pid: steps.pid });
    expect(programReplay).toMatchObject({ identical: true, operations: 4, modelCalls: 0 });
    expect(programReplay.replayed).toMatchObject({
      exitStatus: 0,
      result: { parts: ['x-a', 'x-b'], at: true },
    });

    // Change what the journal says the model was sent: replay must notice.
    await t.kernel.db.query(
      `update aos.steps set output = jsonb_set(output, '{request_sha256}', '"0000"')
        where pid = $1 and seq = (select min(seq) from aos.steps where pid = $1 and kind = 'model')`,
      [agent.pid],
    );
    const changed = await t.kernel.call('replay', { pid: agent.pid });
    expect(changed.identical).toBe(false);
    expect(changed.differences[0]!.what).toMatch(/the request of the model call at operation 1 differs/);
    // And a process still running is refused.
    const listener = t.agent(
      'waiting',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: ok\n',
    );
    const running = await t.kernel.call('spawn', { agent: listener });
    await expect(t.kernel.call('replay', { pid: running.pid })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('forks at step k: the steps before k are shared and not run again, the fork runs live from k and diverges', async () => {
    let reading = 0;
    const meter = defineTool({
      name: 'meter',
      description: 'Reads a meter that changes every time.',
      input: z.object({}),
      annotations: { readOnly: true },
      async run() {
        reading += 1;
        return textResult(`reading ${reading}`);
      },
    });
    const t = await start({ startWorker: false });
    const kernel = await createKernel({ db: t.kernel.db, tools: [meter], migrate: false });
    const worker = kernel.createWorker({ concurrency: 2, leaseMs: 1000, pollMs: 50 });
    await worker.start();
    try {
      const file = t.agent(
        'metered',
        'tools: [meter, finish]',
        [
          'turns:',
          '  - tool_calls: [{ name: meter }]',
          '  - tool_calls: [{ name: meter }]',
          '  - tool_calls: [{ name: meter }]',
          '  - finish: "{{observations}}"',
          '',
        ].join('\n'),
      );
      const original = await kernel.call('spawn', { agent: file });
      expect(await kernel.call('wait', { pid: original.pid, timeout: '30s' })).toMatchObject({
        result: 'reading 3',
      });
      const journal = await kernel.db.query<{
        seq: number;
        kind: string;
        op: number | null;
        output: unknown;
      }>(
        "select seq, kind, op, output from aos.steps where pid = $1 and op is not null and kind in ('model', 'tool') order by seq",
        [original.pid],
      );
      // Branch at the third meter call: operations 1-5 are shared, the call at 6 runs again, live.
      const third = journal.rows.filter((row) => row.kind === 'tool')[2]!;
      const fork = await kernel.call('fork', { pid: original.pid, at: third.seq });
      expect(fork.agent).toBe('metered');
      expect(['ready', 'running']).toContain(fork.state);
      const done = await kernel.call('wait', { pid: fork.pid, timeout: '30s' });
      expect(done).toMatchObject({ exitStatus: 0, result: 'reading 4' });
      expect(reading).toBe(4);
      const forked = await kernel.db.query<{
        op: number;
        kind: string;
        name: string;
        output: unknown;
        generation: number;
      }>(
        "select op, kind, name, output, generation from aos.steps where pid = $1 and op is not null and kind in ('model', 'tool') order by op",
        [fork.pid],
      );
      for (const row of forked.rows) {
        const mine = journal.rows.find((original) => original.op === row.op)!;
        if (row.op < third.op!) {
          expect(row.output).toEqual(mine.output);
          expect(row.generation).toBe(0);
        } else if (row.name === 'meter') {
          expect(row.output).not.toEqual(mine.output);
        }
      }
      const audit = await kernel.call('audit show', { pid: fork.pid, kind: 'fork' });
      expect(audit[0]!.data).toMatchObject({ from: original.pid, atStep: third.seq });
      expect((await kernel.call('replay', { pid: fork.pid })).identical).toBe(true);
      await expect(kernel.call('fork', { pid: original.pid, at: 1 })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      await expect(kernel.call('fork', { pid: original.pid, at: 999 })).rejects.toMatchObject({
        code: 'not_found',
      });
    } finally {
      await worker.stop(1000);
    }
  });
});
