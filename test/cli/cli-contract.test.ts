/**
 * The agent-native CLI contract, through the compiled binary in subprocesses:
 * --desc, --json output against each command's own output schema, the error
 * envelope and exit codes, and the embedded database shared by several commands.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { commands } from '../../src/cli/commands.js';
import { packageRoot } from '../../src/package-root.js';
import { loadMigrations } from '../../src/storage/migrate.js';
import { type CliRun, cliPath as cli, runAos } from '../support/cli.js';

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', packageRoot()], { stdio: 'inherit' });
});

/** Each test runs dozens of CLI processes; on a loaded 2-core machine that takes minutes. */
const cliTimeout = 240_000;

function aos(cwd: string, ...args: string[]): Promise<CliRun> {
  return runAos(cwd, args);
}

function outputSchema(name: string) {
  const command = commands.find((candidate) => candidate.name === name);
  if (command === undefined) throw new Error(`no command ${name}`);
  return command.output;
}

/** A folder with agent files: quick (finishes), listener (waits for a message), failing (status 3). */
function workspace(): string {
  const folder = mkdtempSync(join(tmpdir(), 'aos-cli-'));
  const agent = (name: string, tools: string, script: string) => {
    writeFileSync(join(folder, `${name}.yaml`), script);
    writeFileSync(
      join(folder, `${name}.md`),
      `---\nname: ${name}\nmodel: scripted:./${name}.yaml\ntools: [${tools}]\n---\nYou are ${name}.\n`,
    );
  };
  agent('quick', 'finish', 'turns:\n  - finish: "hello {{input}}"\n');
  agent(
    'listener',
    'recv, finish',
    'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "got {{result.0.message}}"\n',
  );
  agent(
    'failing',
    'finish',
    'turns:\n  - tool_calls: [{ name: finish, arguments: { result: bad, status: 3 } }]\n',
  );
  agent(
    'asker',
    'approval, finish',
    'turns:\n  - tool_calls: [{ name: approval, arguments: { question: "ship it?" } }]\n  - finish: "{{result.0.reason}}"\n',
  );
  agent(
    'slow',
    'sleep, finish',
    'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 10m } }]\n  - finish: rested\n',
  );
  writeFileSync(
    join(folder, 'broken.md'),
    '---\nname: broken\nmodel: scripted:./quick.yaml\nlimits:\n  max_steps: many\n---\nBroken.\n',
  );
  return folder;
}

function expectEnvelope(run: CliRun, code: string, status: number, exit: number): void {
  expect(run.code).toBe(exit);
  expect(run.stdout).toBe('');
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  const envelope = JSON.parse(lines[0]!);
  expect(envelope).toEqual({
    error: {
      code,
      status,
      message: expect.any(String),
      hint: expect.any(String),
      retryable: expect.any(Boolean),
    },
  });
}

describe('aos --desc', () => {
  it(
    'describes every command as JSON, with flags, schemas, errors and examples',
    async () => {
      const folder = workspace();
      const all = await aos(folder, '--desc', '--json');
      expect(all.code).toBe(0);
      const description = JSON.parse(all.stdout);
      const names = description.commands.map((command: { name: string }) => command.name);
      for (const name of ['run', 'ps', 'kill', 'wait', 'send', 'worker', 'init', 'doctor'])
        expect(names).toContain(name);
      expect(names).toEqual(commands.map((command) => command.name));
      for (const command of description.commands) {
        expect(command).toMatchObject({
          name: expect.any(String),
          summary: expect.any(String),
          usage: expect.any(String),
        });
        expect(command.input.type).toBe('object');
        expect(command.output).toBeTypeOf('object');
        expect(command.errors).toContainEqual({ code: 'internal', status: 500, exit: 1 });
        expect(command.examples.length).toBeGreaterThan(0);
        const one = await aos(folder, ...command.name.split(' '), '--desc');
        expect(one.code).toBe(0);
        expect(JSON.parse(one.stdout)).toEqual(command);
      }
      expect(description.commands.find((command: { name: string }) => command.name === 'kill').flags).toEqual(
        {},
      );
      expect(
        description.commands.find((command: { name: string }) => command.name === 'worker').flags.concurrency,
      ).toBe('--concurrency');
    },
    cliTimeout,
  );
});

describe('aos --json on the embedded database', () => {
  it(
    "prints one document that matches each command's output schema",
    async () => {
      const folder = workspace();
      const init = await aos(folder, 'init', '--json');
      expect(init.code).toBe(0);
      expect(outputSchema('init').parse(JSON.parse(init.stdout))).toMatchObject({
        kind: 'pglite',
        applied: loadMigrations().map((migration) => migration.id),
      });
      const run = await aos(folder, 'run', 'quick.md', 'Ada', '--json');
      expect(run.code).toBe(0);
      expect(outputSchema('run').parse(JSON.parse(run.stdout))).toMatchObject({
        exitStatus: 0,
        result: 'hello Ada',
      });
      // Looking back at the finished process: its request, its pages, recall, replay, a fork.
      const quick = JSON.parse(run.stdout) as { pid: number };
      const context = await aos(folder, 'context', String(quick.pid), '--json');
      expect(context.code, context.stderr).toBe(0);
      const view = outputSchema('context').parse(JSON.parse(context.stdout)) as {
        step: number;
        segments: unknown[];
      };
      expect(view.segments.length).toBeGreaterThan(0);
      outputSchema('pages').parse(
        JSON.parse((await aos(folder, 'pages', String(quick.pid), '--json')).stdout),
      );
      outputSchema('recall').parse(
        JSON.parse((await aos(folder, 'recall', String(quick.pid), 'hello', '--json')).stdout),
      );
      const replay = await aos(folder, 'replay', String(quick.pid), '--json');
      expect(replay.code, replay.stderr).toBe(0);
      expect(outputSchema('replay').parse(JSON.parse(replay.stdout))).toMatchObject({ identical: true });
      const fork = await aos(folder, 'fork', String(quick.pid), '--at', String(view.step), '--json');
      const forked = outputSchema('fork').parse(JSON.parse(fork.stdout)) as { pid: number };
      expect(forked).toMatchObject({ agent: 'quick', state: 'ready' });
      expectEnvelope(
        await aos(folder, 'context', String(quick.pid), '--step', '999', '--json'),
        'not_found',
        404,
        3,
      );
      const detached = await aos(folder, 'run', 'listener.md', '--detach', '--json');
      const listener = outputSchema('run').parse(JSON.parse(detached.stdout)) as {
        pid: number;
        state: string;
      };
      expect(listener.state).toBe('ready');
      const ps = await aos(folder, 'ps', '--json');
      expect(
        (outputSchema('ps').parse(JSON.parse(ps.stdout)) as { pid: number }[]).map((row) => row.pid),
      ).toEqual([forked.pid, listener.pid]);
      const psAll = await aos(folder, 'ps', '--all', '--json');
      expect(outputSchema('ps').parse(JSON.parse(psAll.stdout))).toHaveLength(3);
      const send = await aos(folder, 'send', String(listener.pid), 'hi', '--json');
      expect(outputSchema('send').parse(JSON.parse(send.stdout))).toMatchObject({ pid: listener.pid });
      const kill = await aos(folder, 'kill', String(listener.pid), 'STOP', '--json');
      expect(outputSchema('kill').parse(JSON.parse(kill.stdout))).toMatchObject({
        signal: 'STOP',
        state: 'stopped',
      });
      expect((await aos(folder, 'kill', String(listener.pid), 'CONT', '--json')).code).toBe(0);
      for (const name of ['cpu', 'top', 'doctor', 'audit show', 'audit verify', 'audit checkpoint']) {
        const result = await aos(folder, ...name.split(' '), '--json');
        expect(result.code, `${name}: ${result.stderr}`).toBe(0);
        outputSchema(name).parse(JSON.parse(result.stdout));
      }
      const setDevice = await aos(folder, 'cpu', 'set', 'openai:*', '--rpm', '100', '--json');
      expect(outputSchema('cpu set').parse(JSON.parse(setDevice.stdout))).toMatchObject({
        requestsPerMinute: 100,
      });
      const budget = await aos(folder, 'budget', 'local', '--max-cost', '2', '--json');
      expect(outputSchema('budget').parse(JSON.parse(budget.stdout))).toEqual({
        owner: 'local',
        maxTokens: null,
        maxCost: 2,
      });
      const exported = await aos(folder, 'audit', 'export', '--json');
      const lines = exported.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.length).toBeGreaterThan(5);
    },
    cliTimeout,
  );

  it(
    'streams worker events as JSON lines, and run and wait exit with the process status',
    async () => {
      const folder = workspace();
      const failing = JSON.parse((await aos(folder, 'run', 'failing.md', '--detach', '--json')).stdout);
      const worker: ChildProcess = spawn(process.execPath, [cli, 'worker', '--json', '--poll', '50ms'], {
        cwd: folder,
        env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      worker.stdout!.on('data', (chunk) => {
        stdout += chunk;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Approvals: the asker waits for a decision; approvals lists it, deny decides it.
      const asker = JSON.parse((await aos(folder, 'run', 'asker.md', '--detach', '--json')).stdout);
      let pending: { id: number; pid: number; question: string }[] = [];
      for (let attempt = 0; attempt < 300 && pending.length === 0; attempt++) {
        const listed = await aos(folder, 'approvals', '--json');
        expect(listed.code, listed.stderr).toBe(0);
        pending = outputSchema('approvals').parse(JSON.parse(listed.stdout)) as typeof pending;
        if (pending.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(pending).toEqual([expect.objectContaining({ pid: asker.pid, question: 'ship it?' })]);
      const denied = await aos(
        folder,
        'deny',
        String(asker.pid),
        String(pending[0]!.id),
        '--reason',
        'not today',
        '--json',
      );
      expect(outputSchema('deny').parse(JSON.parse(denied.stdout))).toMatchObject({
        decision: 'denied',
        reason: 'not today',
      });
      expectEnvelope(
        await aos(folder, 'approve', String(asker.pid), String(pending[0]!.id), '--json'),
        'conflict',
        409,
        5,
      );
      expectEnvelope(await aos(folder, 'approve', String(asker.pid), '999', '--json'), 'not_found', 404, 3);
      const answered = await aos(folder, 'wait', String(asker.pid), '--timeout', '30s', '--json');
      expect(JSON.parse(answered.stdout)).toMatchObject({ exitStatus: 0, result: 'not today' });
      const waited = await aos(folder, 'wait', String(failing.pid), '--timeout', '30s', '--json');
      expect(waited.code).toBe(3);
      expect(outputSchema('wait').parse(JSON.parse(waited.stdout))).toMatchObject({
        exitStatus: 3,
        result: 'bad',
      });
      worker.kill('SIGINT');
      const exitCode = await new Promise((resolve) => worker.once('exit', resolve));
      expect(exitCode).toBe(0);
      const events = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(events.some((event) => event.type === 'slice-started' && event.pid === failing.pid)).toBe(true);
      expect(events.every((event) => typeof event.workerId === 'string')).toBe(true);
      const killed = JSON.parse((await aos(folder, 'run', 'listener.md', '--detach', '--json')).stdout);
      expect((await aos(folder, 'kill', String(killed.pid), 'KILL')).code).toBe(0);
      expect((await aos(folder, 'wait', String(killed.pid))).code).toBe(137);
    },
    cliTimeout,
  );
});

describe('errors: the envelope and the exit codes', () => {
  it(
    'gives each class its code, with --json as one envelope and without it as a line and a hint',
    async () => {
      const folder = workspace();
      expectEnvelope(await aos(folder, 'kill', '424242', '--json'), 'not_found', 404, 3);
      const done = JSON.parse((await aos(folder, 'run', 'quick.md', 'x', '--json')).stdout);
      expectEnvelope(await aos(folder, 'kill', String(done.pid), '--json'), 'conflict', 409, 5);
      expectEnvelope(
        await aos(folder, 'ps', '--db', 'postgres://postgres@127.0.0.1:1/nope', '--json'),
        'unavailable',
        503,
        6,
      );
      expectEnvelope(await aos(folder, 'bogus', '--json'), 'invalid_input', 400, 2);
      expectEnvelope(await aos(folder, 'ps', '--frobnicate', '--json'), 'invalid_input', 400, 2);
      const broken = await aos(folder, 'run', 'broken.md', '--json');
      expectEnvelope(broken, 'invalid_input', 400, 2);
      expect(JSON.parse(broken.stderr).error.message).toMatch(/broken\.md:5: field "limits\.max_steps"/);
      const listener = JSON.parse((await aos(folder, 'run', 'listener.md', '--detach', '--json')).stdout);
      expectEnvelope(
        await aos(folder, 'wait', String(listener.pid), '--timeout', '200ms', '--json'),
        'timeout',
        504,
        7,
      );
      const plain = await aos(folder, 'kill', '424242');
      expect(plain.code).toBe(3);
      expect(plain.stdout).toBe('');
      expect(plain.stderr).toBe(
        'aos: not_found: no process with pid 424242\n  hint: list processes with: aos ps\n',
      );
    },
    cliTimeout,
  );
});

describe('the embedded database shared by several commands', () => {
  it(
    'serves ps and kill from other processes while run holds it, then passes ownership on',
    async () => {
      const folder = workspace();
      const runner = spawn(process.execPath, [cli, 'run', 'slow.md', '--json'], {
        cwd: folder,
        env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      runner.stdout!.on('data', (chunk) => {
        output += chunk;
      });
      let pid: number | undefined;
      for (let attempt = 0; attempt < 200 && pid === undefined; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const ps = await aos(folder, 'ps', '--json');
        if (ps.code !== 0) continue;
        const rows = JSON.parse(ps.stdout) as { pid: number; state: string }[];
        pid = rows.find((row) => row.state === 'sleeping' || row.state === 'running')?.pid;
      }
      expect(pid).toBeDefined();
      expect((await aos(folder, 'kill', String(pid), 'KILL')).code).toBe(0);
      const exitCode = await new Promise((resolve) => runner.once('exit', resolve));
      expect(exitCode).toBe(137);
      expect(JSON.parse(output)).toMatchObject({ pid, exitStatus: 137 });
      const after = await aos(folder, 'ps', '--all', '--json');
      expect(after.code).toBe(0);
      expect(JSON.parse(after.stdout)).toHaveLength(1);
    },
    cliTimeout,
  );
});

/** Runs `aos ARGS` with `input` on standard input. */
function aosWithInput(cwd: string, input: string | Buffer, ...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd,
      env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin!.end(input);
  });
}

describe('aos fs', () => {
  it('writes from a file or stdin, and ls, cat, history, grep, diff, rm print what their schemas say', async () => {
    const folder = workspace();
    writeFileSync(join(folder, 'plan.md'), 'one\ntwo\n');
    const first = await aos(
      folder,
      'fs',
      'write',
      '--ns',
      'agent:cli',
      '/notes/plan.md',
      'plan.md',
      '--json',
    );
    expect(first.code, first.stderr).toBe(0);
    expect(outputSchema('fs write').parse(JSON.parse(first.stdout))).toMatchObject({
      path: '/notes/plan.md',
      version: 1,
      kind: 'text',
      created: true,
    });
    const piped = await aosWithInput(
      folder,
      'one\n2\nthree\n',
      'fs',
      'write',
      '--ns',
      'agent:cli',
      '/notes/plan.md',
      '--json',
    );
    expect(outputSchema('fs write').parse(JSON.parse(piped.stdout))).toMatchObject({ version: 2, size: 12 });
    const again = await aosWithInput(
      folder,
      'one\n2\nthree\n',
      'fs',
      'write',
      '--ns',
      'agent:cli',
      '/notes/plan.md',
      '-',
    );
    expect(again.stdout).toBe('unchanged: /notes/plan.md version 2 already has this content (12 B)\n');

    const ls = await aos(folder, 'fs', 'ls', '--ns', 'agent:cli', '--json');
    expect(outputSchema('fs ls').parse(JSON.parse(ls.stdout))).toEqual([
      expect.objectContaining({ path: '/notes', type: 'directory', files: 1, size: 12 }),
    ]);
    const lsText = await aos(folder, 'fs', 'ls', '--ns', 'agent:cli', '/notes');
    expect(lsText.stdout).toMatch(
      /^TYPE +KIND +VERSION +SIZE +UPDATED +PATH\nfile +text +2 +12 B +\S+ +\/notes\/plan\.md\n$/,
    );

    // cat prints the bytes exactly (no newline added); --version N an older one; --json the content.
    expect((await aos(folder, 'fs', 'cat', '--ns', 'agent:cli', '/notes/plan.md')).stdout).toBe(
      'one\n2\nthree\n',
    );
    expect(
      (await aos(folder, 'fs', 'cat', '--ns', 'agent:cli', '/notes/plan.md', '--version', '1')).stdout,
    ).toBe('one\ntwo\n');
    const catJson = await aos(folder, 'fs', 'cat', '--ns', 'agent:cli', '/notes/plan.md', '--json');
    expect(outputSchema('fs cat').parse(JSON.parse(catJson.stdout))).toMatchObject({
      content: 'one\n2\nthree\n',
      encoding: 'utf8',
    });

    const history = await aos(folder, 'fs', 'history', '--ns', 'agent:cli', '/notes/plan.md', '--json');
    expect(
      (outputSchema('fs history').parse(JSON.parse(history.stdout)) as { version: number }[]).map(
        (v) => v.version,
      ),
    ).toEqual([2, 1]);
    const grep = await aos(folder, 'fs', 'grep', '--ns', 'agent:cli', '^t', '--json');
    expect(outputSchema('fs grep').parse(JSON.parse(grep.stdout))).toEqual({
      matches: [{ path: '/notes/plan.md', version: 2, line: 3, text: 'three' }],
      truncated: false,
    });
    expect(
      (await aos(folder, 'fs', 'grep', '--ns', 'agent:cli', 'T', '/notes', '--ignore-case')).stdout,
    ).toBe('/notes/plan.md:3: three\n');
    const diff = await aos(folder, 'fs', 'diff', '--ns', 'agent:cli', '/notes/plan.md', '--json');
    expect(outputSchema('fs diff').parse(JSON.parse(diff.stdout))).toMatchObject({
      identical: false,
      binary: false,
    });
    expect(
      (await aos(folder, 'fs', 'diff', '--ns', 'agent:cli', '/notes/plan.md', '--from', '1', '--to', '2'))
        .stdout,
    ).toBe(
      '--- /notes/plan.md\tversion 1\n+++ /notes/plan.md\tversion 2\n@@ -1,2 +1,3 @@\n one\n-two\n+2\n+three\n',
    );
    const rm = await aos(folder, 'fs', 'rm', '--ns', 'agent:cli', '/notes/plan.md', '--json');
    expect(outputSchema('fs rm').parse(JSON.parse(rm.stdout))).toMatchObject({ version: 3, kind: 'removed' });
    expectEnvelope(
      await aos(folder, 'fs', 'cat', '--ns', 'agent:cli', '/notes/plan.md', '--json'),
      'not_found',
      404,
      3,
    );
    expectEnvelope(
      await aos(folder, 'fs', 'rm', '--ns', 'agent:cli', '/notes/plan.md', '--json'),
      'not_found',
      404,
      3,
    );

    // Writes through the CLI are audited by size and hash, not by content.
    const audit = await aos(folder, 'audit', 'show', '--kind', 'syscall', '--json');
    const writes = (
      JSON.parse(audit.stdout) as { data: { name: string; input: Record<string, unknown> } }[]
    ).filter((entry) => entry.data.name === 'fs write');
    expect(writes).toHaveLength(3);
    expect(writes[0]!.data.input).toEqual({
      ns: 'agent:cli',
      path: '/notes/plan.md',
      encoding: 'base64',
      size: 8,
      sha256: expect.any(String),
    });
  }, 240_000);

  it('exports and imports trees, binary byte for byte, links skipped, into an empty directory only', async () => {
    const folder = workspace();
    const source = join(folder, 'source');
    mkdirSync(join(source, 'deep'), { recursive: true });
    const bytes = Buffer.from([0, 1, 2, 255, 254, 10, 0]);
    writeFileSync(join(source, 'deep', 'data.bin'), bytes);
    writeFileSync(join(source, 'readme.md'), '# hi\n');
    symlinkSync('/etc/passwd', join(source, 'passwd'));
    const imported = await aos(
      folder,
      'fs',
      'import',
      '--ns',
      'agent:cli',
      'source',
      '--path',
      '/project',
      '--json',
    );
    expect(imported.code, imported.stderr).toBe(0);
    const report = outputSchema('fs import').parse(JSON.parse(imported.stdout)) as {
      files: { path: string; kind: string }[];
      skipped: { source: string; reason: string }[];
    };
    expect(report.files.map((file) => [file.path, file.kind])).toEqual([
      ['/project/deep/data.bin', 'binary'],
      ['/project/readme.md', 'text'],
    ]);
    expect(report.skipped).toEqual([
      { source: join(source, 'passwd'), reason: 'symbolic link (not followed)' },
    ]);
    const cat = await runAos(folder, ['fs', 'cat', '--ns', 'agent:cli', '/project/deep/data.bin', '--json']);
    const file = outputSchema('fs cat').parse(JSON.parse(cat.stdout)) as {
      content: string;
      encoding: string;
    };
    expect(file.encoding).toBe('base64');
    expect(Buffer.from(file.content, 'base64').equals(bytes)).toBe(true);

    const exported = await aos(
      folder,
      'fs',
      'export',
      '--ns',
      'agent:cli',
      'out',
      '--path',
      '/project',
      '--json',
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(outputSchema('fs export').parse(JSON.parse(exported.stdout))).toMatchObject({
      bytes: bytes.length + 5,
    });
    expect(readFileSync(join(folder, 'out', 'deep', 'data.bin')).equals(bytes)).toBe(true);
    expect(readFileSync(join(folder, 'out', 'readme.md'), 'utf8')).toBe('# hi\n');
    expectEnvelope(
      await aos(folder, 'fs', 'export', '--ns', 'agent:cli', 'out', '--json'),
      'conflict',
      409,
      5,
    );
    const text = await aos(folder, 'fs', 'export', '--ns', 'agent:cli', 'out2');
    expect(text.stdout).toMatch(/^exported 2 files \(12 B\) from agent:cli to /);
  }, 240_000);

  it('gives the envelope and exit code for each failure class', async () => {
    const folder = workspace();
    expectEnvelope(await aos(folder, 'fs', 'ls', '--ns', 'agent:never', '--json'), 'not_found', 404, 3);
    expectEnvelope(await aos(folder, 'fs', 'ls', '--json'), 'invalid_input', 400, 2);
    writeFileSync(join(folder, 'big.txt'), 'x'.repeat(64));
    expectEnvelope(
      await aos(folder, 'fs', 'write', '--ns', 'agent:cli', '/a/../b', 'big.txt', '--json'),
      'invalid_input',
      400,
      2,
    );
    expectEnvelope(
      await aos(folder, 'fs', 'write', '--ns', 'agent:cli', '/x', 'missing.txt', '--json'),
      'not_found',
      404,
      3,
    );
    const limited = await runAos(
      folder,
      ['fs', 'write', '--ns', 'agent:cli', '/big.txt', 'big.txt', '--json'],
      {
        AOS_FS_MAX_FILE_BYTES: '10',
      },
    );
    expectEnvelope(limited, 'limit_exceeded', 429, 8);
    expect(JSON.parse(limited.stderr).error).toMatchObject({
      message: '/big.txt is 64 B, over the limit of 10 B per file',
      retryable: false,
    });
    expect((await aos(folder, 'fs', 'write', '--ns', 'agent:cli', '/dir/file', 'big.txt')).code).toBe(0);
    expectEnvelope(
      await aos(folder, 'fs', 'write', '--ns', 'agent:cli', '/dir', 'big.txt', '--json'),
      'conflict',
      409,
      5,
    );
    expectEnvelope(
      await aos(folder, 'fs', 'grep', '--ns', 'agent:cli', '(', '--json'),
      'invalid_input',
      400,
      2,
    );
    expectEnvelope(
      await aos(folder, 'fs', 'cat', '--ns', 'agent:cli', '/dir/file', '--version', '9', '--json'),
      'not_found',
      404,
      3,
    );
    expectEnvelope(
      await aos(folder, 'fs', 'import', '--ns', 'agent:cli', 'nowhere', '--json'),
      'not_found',
      404,
      3,
    );
    const plain = await aos(folder, 'fs', 'cat', '--ns', 'agent:cli', '/nope.md');
    expect(plain.code).toBe(3);
    expect(plain.stderr).toBe(
      'aos: not_found: no file /nope.md in namespace agent:cli\n  hint: list the files with: aos fs ls --ns agent:cli /\n',
    );
  }, 240_000);
});
