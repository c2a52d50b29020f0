/**
 * The syscall table walked face by face (issue 13): every syscall is run through the real
 * CLI entry (`aos NAME`), and every syscall with an agent-tool face is called by a process
 * running the scripted CPU, through dispatch as that process: each call succeeds, returns
 * the syscall's own output, and a change of state is audited once with the process as actor;
 * and each SQL function a syscall names exists.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toolNameOf } from '../src/syscalls/faces.js';
import type { Syscall } from '../src/syscalls/syscall.js';
import { syscalls } from '../src/syscalls/table.js';
import { drainAudit } from '../src/trust/audit.js';
import { runAos } from './support/cli.js';
import { testDatabases } from './support/databases.js';
import { testKernels } from './support/kernel.js';

const withToolFace = (Object.values(syscalls) as Syscall[]).filter((syscall) => syscall.tool !== undefined);

/** One call of each tool face, in turns (a later turn may use an earlier result). */
const turns: Record<string, string>[] = [
  { spawn: '{ agent: helper }' },
  {
    send: '{ pid: "{{result.0.pid}}", message: hello }',
    fs_write: '{ path: /a.md, content: "one\\ntwo\\n" }',
    mem_add: '{ text: "the fact of the day", id: f1, kind: fact }',
  },
  {
    fs_cat: '{ path: /a.md, offset: 2, limit: 1 }',
    fs_ls: '{}',
    fs_grep: '{ pattern: two }',
    fs_history: '{ path: /a.md }',
    fs_diff: '{ path: /a.md }',
    mem_get: '{ id: f1 }',
    recall: '{ query: f1 }',
  },
  { fs_rm: '{ path: /a.md }', mem_forget: '{ id: f1 }' },
];

describe.each(testDatabases)('the syscall table on $name', (database) => {
  const start = testKernels(database);

  it('reaches every syscall with a tool face from an agent, through dispatch as its process', async () => {
    const { kernel, agent } = await start();
    const byTool = new Map(withToolFace.map((syscall) => [toolNameOf(syscall.name), syscall]));
    // Every tool face is called below, and nothing else.
    expect(turns.flatMap((turn) => Object.keys(turn)).sort()).toEqual([...byTool.keys()].sort());
    agent(
      'helper',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "{{last}}"\n',
    );
    const script = [
      'turns:',
      ...turns.flatMap((turn) => [
        '  - tool_calls:',
        ...Object.entries(turn).map(([name, args]) => `      - { name: ${name}, arguments: ${args} }`),
      ]),
      '  - finish: done',
      '',
    ].join('\n');
    const file = agent(
      'walker',
      `tools: [${[...byTool.keys()].join(', ')}, finish]\nagents: [./helper.md]`,
      script,
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    expect(await kernel.call('wait', { pid, timeout: '60s' })).toMatchObject({
      exitStatus: 0,
      result: 'done',
    });

    const steps = await kernel.db.query<{ name: string; status: string; output: { output: unknown } }>(
      "select name, status, output from aos.steps where pid = $1 and kind = 'tool' and name <> 'finish' order by seq",
      [pid],
    );
    expect(steps.rows.map((step) => step.name)).toEqual(turns.flatMap((turn) => Object.keys(turn)));
    // Entries are chained (and so in aos.audit) asynchronously: chain what is pending first.
    await drainAudit(kernel.db);
    const audited = await kernel.db.query<{ data: string }>(
      "select data from aos.audit where kind = 'syscall' and actor = $1 order by id",
      [`process:${pid}`],
    );
    const auditedNames = audited.rows.map((row) => JSON.parse(row.data) as { name: string; ok: boolean });
    for (const step of steps.rows) {
      const syscall = byTool.get(step.name)!;
      expect([step.name, step.status]).toEqual([step.name, 'done']);
      // The result is the syscall's own output.
      expect(syscall.output.safeParse(step.output.output).success).toBe(true);
      const entries = auditedNames.filter((entry) => entry.name === syscall.name);
      expect([step.name, entries]).toEqual([
        step.name,
        syscall.readOnly ? [] : [{ ...entries[0], ok: true }],
      ]);
    }
    // The spawned helper got the message, from this process.
    const [helper] = await kernel.call('ps', { all: true, ppid: pid });
    expect(await kernel.call('wait', { pid: helper!.pid, timeout: '30s' })).toMatchObject({
      exitStatus: 0,
      result: expect.stringContaining('hello'),
    });
  });
});

/** One run of each syscall's CLI face (exit 3: it ran and found nothing, e.g. no such process). */
const cliRuns: Record<string, { argv: string[]; exits: number[] }> = {
  spawn: { argv: ['spawn', 'quick.md', 'hi'], exits: [0] },
  ps: { argv: ['ps', '--all'], exits: [0] },
  kill: { argv: ['kill', '999999'], exits: [3] },
  wait: { argv: ['wait', '999999'], exits: [3] },
  send: { argv: ['send', '999999', 'hello'], exits: [3] },
  approvals: { argv: ['approvals'], exits: [0] },
  approve: { argv: ['approve', '999999', '1'], exits: [3] },
  deny: { argv: ['deny', '999999', '1'], exits: [3] },
  cpu: { argv: ['cpu'], exits: [0] },
  'cpu set': { argv: ['cpu', 'set', 'scripted:*', '--rpm', '600'], exits: [0] },
  budget: { argv: ['budget', 'local', '--max-tokens', '100000'], exits: [0] },
  'audit show': { argv: ['audit', 'show', '--limit', '5'], exits: [0] },
  'audit verify': { argv: ['audit', 'verify'], exits: [0] },
  'audit checkpoint': { argv: ['audit', 'checkpoint'], exits: [0] },
  trace: { argv: ['trace', '999999'], exits: [3] },
  context: { argv: ['context', '999999'], exits: [3] },
  pages: { argv: ['pages', '999999'], exits: [3] },
  recall: { argv: ['recall', '999999', 'anything'], exits: [3] },
  replay: { argv: ['replay', '999999'], exits: [3] },
  fork: { argv: ['fork', '999999', '--at', '1'], exits: [3] },
  'fs ls': { argv: ['fs', 'ls', '--ns', 'test:none'], exits: [3] },
  'fs cat': { argv: ['fs', 'cat', '--ns', 'test:none', '/a.md'], exits: [3] },
  'fs write': { argv: ['fs', 'write', '--ns', 'test:walk', '/a.md', 'note.txt'], exits: [0] },
  'fs rm': { argv: ['fs', 'rm', '--ns', 'test:walk', '/a.md'], exits: [0] },
  'fs history': { argv: ['fs', 'history', '--ns', 'test:walk', '/a.md'], exits: [0] },
  'fs grep': { argv: ['fs', 'grep', '--ns', 'test:walk', 'note'], exits: [0] },
  'fs diff': { argv: ['fs', 'diff', '--ns', 'test:walk', '/a.md'], exits: [0] },
  'fs export': { argv: ['fs', 'export', '--ns', 'test:walk', 'exported'], exits: [0] },
  'fs import': { argv: ['fs', 'import', '--ns', 'test:walk', 'tree'], exits: [0] },
  'mem add': { argv: ['mem', 'add', '--ns', 'test:walk', 'a note to self', '--id', 'n1'], exits: [0] },
  'mem get': { argv: ['mem', 'get', '--ns', 'test:walk', 'n1'], exits: [0] },
  'mem ls': { argv: ['mem', 'ls'], exits: [0] },
  'mem forget': { argv: ['mem', 'forget', '--ns', 'test:walk', 'n1'], exits: [0] },
  'mem search': { argv: ['mem', 'search', '--ns', 'test:walk', 'note'], exits: [0] },
  'mem import': { argv: ['mem', 'import', '--ns', 'test:walk', 'memories.jsonl'], exits: [0] },
};

describe.each(testDatabases)('the SQL face on $name', (database) => {
  const start = testKernels(database);

  it('names, for each syscall that declares one, a function the database has', async () => {
    const { kernel } = await start({ startWorker: false });
    const declared = (Object.values(syscalls) as Syscall[]).flatMap((syscall) =>
      syscall.sql === undefined ? [] : [syscall.sql],
    );
    expect(declared.length).toBeGreaterThan(0);
    const found = await kernel.db.query<{ name: string }>(
      "select distinct 'aos.' || proname as name from pg_proc where pronamespace = 'aos'::regnamespace and 'aos.' || proname = any($1)",
      [declared],
    );
    expect(found.rows.map((row) => row.name).sort()).toEqual([...new Set(declared)].sort());
  });
});

describe('the syscall table through the CLI', () => {
  it('reaches every syscall as `aos NAME`, through dispatch, and describes each with --desc', {
    timeout: 600_000,
  }, async () => {
    const names = Object.keys(syscalls);
    expect(Object.keys(cliRuns).sort()).toEqual([...names].sort());
    const folder = mkdtempSync(join(tmpdir(), 'aos-faces-'));
    writeFileSync(join(folder, 'quick.yaml'), 'turns:\n  - finish: "hello {{input}}"\n');
    writeFileSync(
      join(folder, 'quick.md'),
      '---\nname: quick\nmodel: scripted:./quick.yaml\ntools: [finish]\n---\nq\n',
    );
    writeFileSync(join(folder, 'note.txt'), 'a note\n');
    writeFileSync(join(folder, 'memories.jsonl'), '{"id":"i1","text":"imported note"}\n');
    mkdirSync(join(folder, 'tree'));
    writeFileSync(join(folder, 'tree', 'b.md'), 'b\n');
    const described = JSON.parse((await runAos(folder, ['--desc'])).stdout) as {
      commands: { name: string }[];
    };
    // Walked in table order, so a write comes before the reads that need it.
    const order = [
      'fs write',
      'mem add',
      ...names.filter((name) => name !== 'fs write' && name !== 'mem add'),
    ];
    for (const name of order) {
      expect(described.commands.map((command) => command.name)).toContain(name);
      const run = await runAos(folder, [...cliRuns[name]!.argv, '--json']);
      expect([name, cliRuns[name]!.exits.includes(run.code) ? 'ok' : `${run.code} ${run.stderr}`]).toEqual([
        name,
        'ok',
      ]);
      if (run.code !== 0) expect(JSON.parse(run.stderr).error.code).toBe('not_found');
    }
    // Each call that could change state was audited once, by dispatch, as the local user.
    const audit = await runAos(folder, ['audit', 'show', '--kind', 'syscall', '--limit', '1000', '--json']);
    const audited = (JSON.parse(audit.stdout) as { actor: string; data: { name: string } }[]).map(
      (entry) => entry.data.name,
    );
    for (const syscall of Object.values(syscalls) as Syscall[]) {
      if (!syscall.readOnly)
        expect([syscall.name, audited.filter((name) => name === syscall.name)]).toEqual([
          syscall.name,
          [syscall.name],
        ]);
    }
  });
});
