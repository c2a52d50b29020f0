/**
 * What a process may do by itself (issue 12): an approval is answered only by its own
 * decision, a tree of processes stays within its root's limits, a child runs at most at
 * its parent's priority, and out-of-range tool arguments are error results. On PGlite and
 * on the server.
 */
import { describe, expect, it } from 'vitest';
import { testDatabases } from './support/databases.js';
import { eventually, reaches, testKernels } from './support/kernel.js';

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
});
