/**
 * What a process may do by itself (issue 12): an approval is answered only by its own
 * decision, a tree of processes stays within its root's limits, a child runs at most at
 * its parent's priority, and out-of-range tool arguments are error results. On PGlite and
 * on the server.
 */

import { describe, expect, it } from 'vitest';
import { testDatabases } from './support/databases.js';
import { eventually, reaches, type TestKernel, testKernels } from './support/kernel.js';
import { toolError } from './support/tool-errors.js';

describe.each(testDatabases)('process bounds on $name', (database) => {
  const start = testKernels(database);

  it('keys an approval by its operation: a second question with the same call id waits for its own decision', async () => {
    const t = await start();
    const file = t.agent(
      'asker',
      'tools: [approval, finish]',
      [
        'turns:',
        '  - tool_calls: [{ name: approval, id: call_0, arguments: { question: "May I read README.md?" } }]',
        '  - tool_calls: [{ name: approval, id: call_0, arguments: { question: "May I DROP the production database?" } }]',
        '  - finish: "{{last}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await t.kernel.call('spawn', { agent: file });
    await reaches(t.kernel, pid, 'waiting', 'approval');
    const [first] = await t.kernel.call('approvals', { pid });
    expect(first).toMatchObject({ question: 'May I read README.md?', decision: null });
    await t.kernel.call('approve', { pid, id: first!.id, reason: 'fine' });
    // The second question must reach a person: it waits (never answered by the first decision).
    const second = await eventually('the second question or the exit', async () => {
      const [pending] = await t.kernel.call('approvals', { pid });
      if (pending !== undefined) return pending;
      const row = (await t.kernel.call('ps', { all: true })).find((process) => process.pid === pid);
      return row?.state === 'exited' ? null : undefined;
    });
    expect(second).toMatchObject({ question: 'May I DROP the production database?', decision: null });
    expect(second!.id).not.toBe(first!.id);
    const requested = await t.kernel.db.query<{ data: string }>(
      `select data from (select id, kind, pid, data from aos.audit
                          union all select seq, kind, pid, data from aos.audit_pending) entries
        where kind = 'approval-requested' and pid = $1 order by data`,
      [pid],
    );
    expect(requested.rows.map((row) => JSON.parse(row.data).question)).toEqual([
      'May I read README.md?',
      'May I DROP the production database?',
    ]);
    await t.kernel.call('deny', { pid, id: second!.id, reason: 'no' });
    const done = await t.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0 });
    expect(JSON.parse(done.result as string)).toMatchObject({
      approved: false,
      reason: 'no',
      id: second!.id,
    });
  });

  /** A parent that spawns two looping children and waits; the tree's limits are the parent's. */
  function loopingTree(t: TestKernel): string {
    t.agent(
      'looper',
      'tools: [sleep, finish]',
      [
        'turns:',
        ...Array.from({ length: 60 }, () => '  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]'),
        '  - finish: looped',
        '',
      ].join('\n'),
    );
    return t.agent(
      'spawner',
      'tools: [spawn, wait, finish]\nagents: [./looper.md]',
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: spawn, arguments: { agent: looper, input: a } }',
        '      - { name: spawn, arguments: { agent: looper, input: b } }',
        '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]',
        '  - finish: done',
        '',
      ].join('\n'),
    );
  }

  async function treeOf(t: TestKernel, root: number) {
    const rows = await t.kernel.db.query<{
      pid: number;
      state: string;
      exit_status: number | null;
      steps_used: number;
      cost_nanos: string;
    }>(
      `select pid, state, exit_status, steps_used, cost_nanos from aos.processes
        where pid = $1 or ppid = $1 order by pid`,
      [root],
    );
    return rows.rows.map((row) => ({ ...row, cost_nanos: Number(row.cost_nanos) }));
  }

  it("charges children to their parent: the whole tree stops at the parent's step limit", async () => {
    const t = await start();
    const { pid } = await t.kernel.call('spawn', { agent: loopingTree(t), maxSteps: 6 });
    const done = await t.kernel.call('wait', { pid, timeout: '30s' });
    expect(done).toMatchObject({ exitStatus: 152, error: { code: 'limit_exceeded' } });
    const tree = await eventually('every child to exit', async () => {
      const rows = await treeOf(t, pid);
      return rows.every((row) => row.state === 'exited') ? rows : undefined;
    });
    expect(tree).toHaveLength(3);
    for (const child of tree.slice(1)) expect(child.exit_status).toBe(152);
    // At most one step past the limit per process of the tree (each checks before its next step).
    const steps = tree.reduce((sum, row) => sum + row.steps_used, 0);
    expect(steps).toBeLessThanOrEqual(6 + tree.length);
  });

  it("charges children to their parent: the whole tree stops at the parent's cost limit", async () => {
    const t = await start();
    await t.kernel.call('cpu set', { name: 'scripted:*', inputPrice: 2000, outputPrice: 2000 });
    const { pid } = await t.kernel.call('spawn', { agent: loopingTree(t), maxCost: 0.5 });
    const done = await t.kernel.call('wait', { pid, timeout: '30s' });
    expect(done).toMatchObject({ exitStatus: 152, error: { code: 'limit_exceeded' } });
    const tree = await eventually('every child to exit', async () => {
      const rows = await treeOf(t, pid);
      return rows.every((row) => row.state === 'exited') ? rows : undefined;
    });
    for (const child of tree.slice(1)) expect(child.exit_status).toBe(152);
    const calls = await t.kernel.db.query<{ cost: string }>(
      "select max((output ->> 'costNanos')::bigint) as cost from aos.steps where kind = 'model'",
    );
    const largestCall = Number(calls.rows[0]!.cost);
    const cost = tree.reduce((sum, row) => sum + row.cost_nanos, 0);
    expect(cost).toBeLessThanOrEqual(0.5e9 + tree.length * largestCall);
  });

  it('spawns only the agents listed under agents:, never itself', async () => {
    const t = await start();
    const file = t.agent(
      'selfish',
      'tools: [spawn, finish]',
      'turns:\n  - tool_calls: [{ name: spawn, arguments: { agent: selfish } }]\n  - finish: "{{last}}"\n',
    );
    const { pid } = await t.kernel.call('spawn', { agent: file });
    const done = await t.kernel.call('wait', { pid, timeout: '20s' });
    expect(toolError(done.result)).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/may spawn no agent, not "selfish"/),
    });
    expect(await t.kernel.call('ps', { all: true, ppid: pid })).toEqual([]);
  });

  it("refuses a child priority above the parent's or out of range, and an endless sleep, as error results", async () => {
    const t = await start();
    t.agent('kid', 'tools: [finish]', 'turns:\n  - finish: kid\n');
    const file = t.agent(
      'pushy',
      'tools: [spawn, sleep, finish]\nagents: [./kid.md]',
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: spawn, arguments: { agent: kid, priority: 1000000 } }',
        '      - { name: spawn, arguments: { agent: kid, priority: 3000000000 } }',
        '      - { name: spawn, arguments: { agent: kid, priority: 3 } }',
        '      - { name: spawn, arguments: { agent: kid, priority: -5 } }',
        '      - { name: sleep, arguments: { duration: 99999999999999d } }',
        '      - { name: sleep, arguments: { duration: 99999999999999999 } }',
        '  - finish: "{{observations}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await t.kernel.call('spawn', { agent: file, priority: 2 });
    const done = await t.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0 });
    const results = String(done.result).split('\n');
    const badArguments = (tool: string, field: string) => ({
      code: 'invalid_input',
      message: expect.stringMatching(new RegExp(`^bad arguments for ${tool} at ${field}`)),
    });
    expect(toolError(results[0])).toMatchObject(badArguments('spawn', 'priority'));
    expect(toolError(results[1])).toMatchObject(badArguments('spawn', 'priority'));
    expect(toolError(results[2])).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/priority 3 is above this process's own \(2\)/),
    });
    expect(JSON.parse(results[3]!)).toMatchObject({ pid: expect.any(Number) });
    expect(toolError(results[4])).toMatchObject(badArguments('sleep', 'duration'));
    expect(toolError(results[5])).toMatchObject(badArguments('sleep', 'duration'));
    const children = await t.kernel.call('ps', { all: true, ppid: pid });
    expect(children.map((child) => child.priority)).toEqual([-5]);
  });

  it('refuses prices and rates out of range with invalid_input', async () => {
    const t = await start();
    for (const input of [{ inputPrice: 1e300 }, { outputPrice: 1e7 }, { rpm: 1e12 }, { tpm: 1e15 }]) {
      await expect(t.kernel.call('cpu set', { name: 'scripted:*', ...input })).rejects.toMatchObject({
        code: 'invalid_input',
      });
    }
  });
});
