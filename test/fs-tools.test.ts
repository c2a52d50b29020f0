/**
 * The file-system tools, called by an agent whose scripted CPU writes, reads, lists,
 * greps, diffs and removes files, on PGlite and on the server: its own namespace by
 * default, its agent's when named, anything else forbidden; failures are results. The
 * agent files here use the tools' earlier names (fs_read, fs_list, fs_remove, `namespace`),
 * which stay aliases of fs_cat, fs_ls, fs_rm (`ns`).
 */
import { describe, expect, it } from 'vitest';
import { readFile } from '../src/fs/read-file.js';
import { writeFile } from '../src/fs/write-file.js';
import type { Kernel } from '../src/kernel.js';
import { drainAudit } from '../src/trust/audit.js';
import { testDatabases } from './support/databases.js';
import { journaledToolCalls, testKernels } from './support/kernel.js';
import { toolError } from './support/tool-errors.js';

const allTools = 'tools: [fs_write, fs_read, fs_list, fs_grep, fs_history, fs_diff, fs_remove, finish]';

describe.each(testDatabases)('file-system tools on $name', (database) => {
  const start = testKernels(database);

  /** The fs_* calls of process `pid`, in order. */
  async function toolSteps(kernel: Kernel, pid: number) {
    return (await journaledToolCalls(kernel, pid)).filter((step) => step.name.startsWith('fs_'));
  }

  it('writes, reads, lists, greps, diffs and removes files in the process namespace', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'scribe',
      allTools,
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: fs_write, arguments: { path: /notes/plan.md, content: "step 1\\n" } }',
        '      - { name: fs_write, arguments: { path: /notes/plan.md, content: "step 1\\nstep 2\\nstep 3\\n" } }',
        '      - { name: fs_write, arguments: { path: /notes/plan.md, content: "step 1\\nstep 2\\nstep 3\\n" } }',
        '      - { name: fs_write, arguments: { path: /shared.md, content: "for every scribe", namespace: "agent:scribe" } }',
        '  - tool_calls:',
        '      - { name: fs_read, arguments: { path: /notes/plan.md } }',
        '      - { name: fs_read, arguments: { path: /notes/plan.md, version: 1 } }',
        '      - { name: fs_read, arguments: { path: /notes/plan.md, offset: 2, limit: 1 } }',
        '      - { name: fs_list, arguments: { recursive: true } }',
        '      - { name: fs_grep, arguments: { pattern: "step [23]" } }',
        '      - { name: fs_history, arguments: { path: /notes/plan.md } }',
        '      - { name: fs_diff, arguments: { path: /notes/plan.md } }',
        '      - { name: fs_read, arguments: { path: /shared.md, namespace: "agent:scribe" } }',
        '  - tool_calls:',
        '      - { name: fs_remove, arguments: { path: /notes/plan.md } }',
        '      - { name: fs_read, arguments: { path: /notes/plan.md } }',
        '      - { name: fs_read, arguments: { path: /notes/plan.md, version: 2 } }',
        '  - finish: done',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({
      exitStatus: 0,
      result: 'done',
    });
    const steps = await toolSteps(kernel, pid);
    expect(steps.map((step) => [step.name, step.status])).toEqual([
      ['fs_write', 'done'],
      ['fs_write', 'done'],
      ['fs_write', 'done'],
      ['fs_write', 'done'],
      ['fs_read', 'done'],
      ['fs_read', 'done'],
      ['fs_read', 'done'],
      ['fs_list', 'done'],
      ['fs_grep', 'done'],
      ['fs_history', 'done'],
      ['fs_diff', 'done'],
      ['fs_read', 'done'],
      ['fs_remove', 'done'],
      ['fs_read', 'failed'],
      ['fs_read', 'done'],
    ]);
    const content = steps.map((step) => step.content);
    expect(JSON.parse(content[0]!)).toEqual({ path: '/notes/plan.md', version: 1, size: 7, created: true });
    expect(JSON.parse(content[1]!)).toMatchObject({ version: 2, created: true });
    // The same content again: no new version (this is why fs_write is idempotent).
    expect(JSON.parse(content[2]!)).toMatchObject({ version: 2, created: false });
    expect(content[4]).toBe('step 1\nstep 2\nstep 3\n');
    expect(content[5]).toBe('step 1\n');
    expect(content[6]).toBe('step 2\n[lines 2-2 of 3; read on with offset 3]');
    expect(content[7]).toBe('/notes/plan.md  (version 2, text, 21 B)');
    expect(content[8]).toBe('/notes/plan.md:2: step 2\n/notes/plan.md:3: step 3');
    expect(content[9]).toMatch(/^version 2 .* by process \d+\nversion 1 /);
    expect(content[10]).toBe(
      '--- /notes/plan.md\tversion 1\n+++ /notes/plan.md\tversion 2\n@@ -1,1 +1,3 @@\n step 1\n+step 2\n+step 3\n',
    );
    expect(content[11]).toBe('for every scribe');
    expect(JSON.parse(content[12]!)).toEqual({ path: '/notes/plan.md', version: 3, removed: true });
    expect(toolError(content[13])).toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/^\/notes\/plan\.md was removed \(version 3\)/),
      hint: expect.any(String),
    });
    expect(content[14]).toBe('step 1\nstep 2\nstep 3\n');

    // In the database: the process's namespace, with the process as author.
    const stored = await readFile(kernel.db, {
      namespace: `process:${pid}`,
      path: '/notes/plan.md',
      version: 2,
    });
    expect(stored).toMatchObject({ authorPid: pid, content: 'step 1\nstep 2\nstep 3\n' });
    expect(await readFile(kernel.db, { namespace: 'agent:scribe', path: '/shared.md' })).toMatchObject({
      authorPid: pid,
    });
  });

  it('refuses namespaces that are not the process’s own, and reports errors as results', async () => {
    const { kernel, agent } = await start();
    await writeFile(kernel.db, { namespace: 'agent:other', path: '/secret.md', content: 'not yours' });
    const file = agent(
      'intruder',
      allTools,
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: fs_read, arguments: { path: /secret.md, namespace: "agent:other" } }',
        '      - { name: fs_write, arguments: { path: /x.md, content: x, namespace: "owner:somebody" } }',
        '      - { name: fs_list, arguments: {} }',
        '      - { name: fs_write, arguments: { path: /a/../b, content: x } }',
        '      - { name: fs_grep, arguments: { pattern: "(", namespace: "owner:local" } }',
        '      - { name: fs_read, arguments: { path: /nothing.md, namespace: "owner:local" } }',
        '  - finish: "{{observations}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({ exitStatus: 0 });
    const steps = await toolSteps(kernel, pid);
    expect(steps.every((step) => step.status === 'failed')).toBe(true);
    const content = steps.map((step) => step.content);
    const errors = content.map(toolError);
    expect(errors[0]).toMatchObject({
      code: 'forbidden',
      message: `fs cat: process ${pid} may use only the namespaces process:${pid}, agent:intruder, owner:local, not "agent:other"`,
    });
    expect(errors[1]).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/not "owner:somebody"$/),
    });
    // Nothing was ever written in this process's namespace.
    expect(errors[2]).toMatchObject({ code: 'not_found', message: `no namespace named "process:${pid}"` });
    expect(errors[3]).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^"\/a\/\.\.\/b" is not a valid path/),
    });
    expect(errors[4]).toMatchObject({ code: 'not_found', message: 'no namespace named "owner:local"' });
    expect(errors[5]).toMatchObject({ code: 'not_found', message: 'no namespace named "owner:local"' });
    // Each denial is audited once, naming the rule.
    // Entries are chained (and so in aos.audit) asynchronously: chain what is pending first.
    await drainAudit(kernel.db);
    const denials = await kernel.db.query<{ rule: string }>(
      "select data::jsonb ->> 'rule' as rule from aos.audit where actor = $1 and data::jsonb ->> 'error' = 'forbidden' order by id",
      [`process:${pid}`],
    );
    expect(denials.rows.map((row) => row.rule)).toEqual([
      'namespace:agent:other',
      'namespace:owner:somebody',
    ]);
    expect((await kernel.db.query("select 1 from aos.files where namespace <> 'agent:other'")).rowCount).toBe(
      0,
    );
  });

  it('declares the annotations: reads are read-only and idempotent, fs_write idempotent, fs_remove destructive', async () => {
    const { kernel } = await start({ startWorker: false });
    const annotations = Object.fromEntries(
      ['fs_read', 'fs_list', 'fs_grep', 'fs_history', 'fs_diff', 'fs_write', 'fs_remove'].map((name) => [
        name,
        kernel.tools.get(name)?.annotations,
      ]),
    );
    for (const name of ['fs_read', 'fs_list', 'fs_grep', 'fs_history', 'fs_diff'])
      expect(annotations[name]).toEqual({ readOnly: true, idempotent: true });
    expect(annotations.fs_write).toEqual({ idempotent: true });
    expect(annotations.fs_remove).toEqual({ destructive: true });
  });
});
