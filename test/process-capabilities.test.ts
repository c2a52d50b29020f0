/**
 * Process callers (issue 13): an agent's tool call dispatches as its process, with rights
 * derived from its definition and narrowed by its parent's. A denial is a `forbidden` result
 * carrying the error envelope, and one audit entry naming the rule that denied it.
 */
import { describe, expect, it } from 'vitest';
import type { Kernel } from '../src/kernel.js';
import { drainAudit } from '../src/trust/audit.js';
import { testDatabases } from './support/databases.js';
import { journaledToolCalls, testKernels } from './support/kernel.js';
import { toolError } from './support/tool-errors.js';

/** The rules of the denied syscalls process `pid` made, in order. */
async function deniedRules(kernel: Kernel, pid: number): Promise<string[]> {
  // Entries are chained (and so in aos.audit) asynchronously: chain what is pending first.
  await drainAudit(kernel.db);
  const denied = await kernel.db.query<{ data: string }>(
    "select data from aos.audit where kind = 'syscall' and actor = $1 order by id",
    [`process:${pid}`],
  );
  return denied.rows
    .map((row) => JSON.parse(row.data) as { ok: boolean; error?: string; rule?: string })
    .filter((data) => data.error === 'forbidden')
    .map((data) => data.rule ?? '(none)');
}

describe.each(testDatabases)('process capabilities on $name', (database) => {
  const start = testKernels(database);

  it('never gives a child a right its parent lacks: its extra tools and spawn rights are forbidden, and audited by rule', async () => {
    const { kernel, agent } = await start();
    agent('grandchild', 'tools: [finish]', 'turns:\n  - finish: never\n');
    agent(
      'child',
      'tools: [spawn, fs_write, fs_ls, finish]\nagents: [./grandchild.md]',
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: fs_write, arguments: { path: /x.md, content: x } }',
        '      - { name: spawn, arguments: { agent: grandchild } }',
        '      - { name: fs_ls, arguments: {} }',
        '  - finish: "{{observations}}"',
        '',
      ].join('\n'),
    );
    const parent = agent(
      'parent',
      'tools: [spawn, wait, fs_cat, finish]\nagents: [./child.md]',
      [
        'turns:',
        '  - tool_calls: [{ name: spawn, arguments: { agent: child } }]',
        '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]',
        '  - finish: "{{result.0.pid}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: parent });
    expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({ exitStatus: 0 });
    const [child] = await kernel.call('ps', { all: true, ppid: pid });
    const calls = await journaledToolCalls(kernel, child!.pid);
    expect(calls.map((call) => [call.name, call.isError])).toEqual([
      ['fs_write', true],
      ['spawn', true],
      ['fs_ls', true],
    ]);
    // fs.write: the child lists the tool, its parent does not.
    expect(toolError(calls[0]!.content)).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(new RegExp(`its parent ${pid} lacks it`)),
      hint: expect.any(String),
    });
    // Spawn rights narrow too: the parent may spawn only "child".
    expect(toolError(calls[1]!.content)).toMatchObject({ code: 'forbidden' });
    // fs.read the parent has (through fs_cat): the call is let through (and finds an empty namespace).
    expect(toolError(calls[2]!.content).code).toBe('not_found');
    expect(await deniedRules(kernel, child!.pid)).toEqual(['inherited:fs.write', 'spawn:grandchild']);
    expect(await kernel.call('ps', { all: true, ppid: child!.pid })).toEqual([]);
    expect((await kernel.db.query('select 1 from aos.files')).rowCount).toBe(0);
  });

  it('forbids a namespace that is not the process’s, as a result the process goes on after', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'nosy',
      'tools: [mem_add, mem_get, finish]',
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: mem_add, arguments: { text: "mine", id: m1 } }',
        '      - { name: mem_get, arguments: { id: m1, ns: "owner:someone" } }',
        '      - { name: mem_get, arguments: { id: m1 } }',
        '  - finish: ok',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({ exitStatus: 0, result: 'ok' });
    const calls = await journaledToolCalls(kernel, pid);
    expect(calls.map((call) => [call.name, call.isError])).toEqual([
      ['mem_add', false],
      ['mem_get', true],
      ['mem_get', false],
    ]);
    expect(toolError(calls[1]!.content)).toMatchObject({ code: 'forbidden', status: 403, retryable: false });
    expect(JSON.parse(calls[2]!.content)).toMatchObject({ namespace: 'agent:nosy', id: 'm1', text: 'mine' });
    expect(await deniedRules(kernel, pid)).toEqual(['namespace:owner:someone']);
  });
});
