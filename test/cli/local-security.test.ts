/**
 * Local security of the CLI, through the compiled binary: the embedded database's
 * socket, home and file modes; host files read by fs import and fs write; signals;
 * agent text printed for people; global flags.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { type CliRun, cliPath as cli, runAos } from '../support/cli.js';

beforeAll(() => {
  if (!existsSync(cli)) execFileSync('npx', ['tsc', '-p', packageRoot()], { stdio: 'inherit' });
});

const cliTimeout = 240_000;

function folder(): string {
  return mkdtempSync(join(tmpdir(), 'aos-sec-'));
}

/** A folder with an agent that sleeps ten minutes (so the command serving the database stays). */
function sleeperWorkspace(): string {
  const where = folder();
  writeFileSync(
    join(where, 'slow.yaml'),
    'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 10m } }]\n  - finish: rested\n',
  );
  writeFileSync(
    join(where, 'slow.md'),
    '---\nname: slow\nmodel: scripted:./slow.yaml\ntools: [sleep, finish]\n---\nYou are slow.\n',
  );
  return where;
}

function startAos(cwd: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, [cli, ...args], {
    cwd,
    env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitFor<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function mode(path: string): number {
  return lstatSync(path).mode & 0o777;
}

/** Every file and folder under `root` with its mode. */
function modesUnder(root: string): { path: string; mode: number; directory: boolean }[] {
  const found: { path: string; mode: number; directory: boolean }[] = [];
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    const stat = lstatSync(path);
    found.push({ path, mode: stat.mode & 0o777, directory: stat.isDirectory() });
    if (stat.isDirectory()) found.push(...modesUnder(path));
  }
  return found;
}

function envelope(run: CliRun): { error: { code: string; message: string; hint?: string } } {
  expect(run.stdout).toBe('');
  return JSON.parse(run.stderr.trim()) as { error: { code: string; message: string; hint?: string } };
}

describe('the embedded database socket (finding 2)', () => {
  it(
    'is a Unix socket in a short private folder named in server.json, even for a long home; never TCP',
    async () => {
      const where = sleeperWorkspace();
      const home = join(where, 'a'.repeat(60), 'b'.repeat(60), 'home');
      const runner = startAos(where, ['run', 'slow.md', '--json'], { AOS_HOME: home });
      try {
        const infoPath = join(home, 'server.json');
        const info = await waitFor(() => {
          if (!existsSync(infoPath)) return undefined;
          try {
            return JSON.parse(readFileSync(infoPath, 'utf8')) as { pid: number; host: string; port: number };
          } catch {
            return undefined;
          }
        }, 'server.json');
        expect(info.pid).toBe(runner.pid);
        expect(info.host.startsWith('/')).toBe(true);
        expect(info.port).toBe(5432);
        const socket = join(info.host, '.s.PGSQL.5432');
        expect(socket.length).toBeLessThanOrEqual(100);
        expect(lstatSync(socket).isSocket()).toBe(true);
        expect(mode(info.host)).toBe(0o700);
        expect(statSync(info.host).uid).toBe(process.getuid!());
        expect(mode(infoPath)).toBe(0o600);
        expect(mode(join(home, 'owner.lock'))).toBe(0o600);
        // Another command reaches it through that socket.
        const ps = await runAos(where, ['ps', '--json'], { AOS_HOME: home });
        expect(ps.code).toBe(0);
      } finally {
        runner.kill('SIGKILL');
      }
    },
    cliTimeout,
  );
});

describe('the aos home (findings 4 and 5)', () => {
  it(
    'is refused, before server.json is read, when others may write it',
    async () => {
      const where = folder();
      const home = join(where, 'home');
      mkdirSync(home);
      chmodSync(home, 0o777);
      // A planted server.json pointing at someone else's database.
      writeFileSync(join(home, 'server.json'), JSON.stringify({ pid: 1, host: '127.0.0.1', port: 1 }));
      const run = await runAos(where, ['ps', '--json'], { AOS_HOME: home });
      expect(run.code).toBe(4);
      const { error } = envelope(run);
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain('writable by others');
      expect(error.hint).toContain(`chmod 700 ${home}`);
      expect(existsSync(join(home, 'db'))).toBe(false);
      expect(mode(home)).toBe(0o777);
    },
    cliTimeout,
  );

  it(
    'is refused inside a folder others may write, unless that folder is sticky (as /tmp is)',
    async () => {
      const where = folder();
      const open = join(where, 'open');
      const home = join(open, 'home');
      mkdirSync(home, { recursive: true, mode: 0o700 });
      chmodSync(open, 0o777);
      const refused = await runAos(where, ['ps', '--json'], { AOS_HOME: home });
      expect(refused.code).toBe(4);
      const { error } = envelope(refused);
      expect(error.code).toBe('forbidden');
      expect(error.message).toContain(`inside ${open}`);
      expect(error.hint).toContain(`chmod o-w,g-w ${open}`);
      expect(existsSync(join(home, 'db'))).toBe(false);
      chmodSync(open, 0o1777);
      expect((await runAos(where, ['ps'], { AOS_HOME: home })).code).toBe(0);
    },
    cliTimeout,
  );

  it.runIf(process.getuid?.() === 0)(
    'is refused when another user owns it',
    async () => {
      const where = folder();
      const home = join(where, 'home');
      mkdirSync(home, { mode: 0o700 });
      chownSync(home, 65534, 65534);
      const run = await runAos(where, ['--json', 'ps'], { AOS_HOME: home });
      expect(run.code).toBe(4);
      const { error } = envelope(run);
      expect(error.code).toBe('forbidden');
      expect(error.hint).toContain('chown');
    },
    cliTimeout,
  );

  it(
    'is made 0700 on every open, and its files 0600 (PGlite creates them 0666)',
    async () => {
      const where = folder();
      const home = join(where, 'home');
      mkdirSync(home);
      chmodSync(home, 0o755);
      const first = await runAos(where, ['ps'], { AOS_HOME: home });
      expect(first.code).toBe(0);
      expect(mode(home)).toBe(0o700);
      const entries = modesUnder(home);
      expect(entries.length).toBeGreaterThan(10);
      expect(entries.filter((entry) => entry.directory && entry.mode !== 0o700)).toEqual([]);
      expect(entries.filter((entry) => !entry.directory && entry.mode !== 0o600)).toEqual([]);
      chmodSync(home, 0o750);
      expect((await runAos(where, ['ps'], { AOS_HOME: home })).code).toBe(0);
      expect(mode(home)).toBe(0o700);
    },
    cliTimeout,
  );
});

describe('a client of the embedded database whose owner exits (finding 13)', () => {
  it(
    'reopens the database and becomes its owner, instead of dying',
    async () => {
      const where = sleeperWorkspace();
      const env = { AOS_HOME: join(where, 'home') };
      const infoPath = join(where, 'home', 'server.json');
      const ownerOf = () => {
        try {
          return (JSON.parse(readFileSync(infoPath, 'utf8')) as { pid: number }).pid;
        } catch {
          return undefined;
        }
      };
      const owner = startAos(where, ['run', 'slow.md'], env);
      await waitFor(ownerOf, 'the first owner');
      const client = startAos(where, ['run', 'slow.md'], env);
      let clientErrors = '';
      client.stderr!.on('data', (chunk) => {
        clientErrors += chunk;
      });
      let clientExit: number | null | undefined;
      client.once('exit', (code) => {
        clientExit = code;
      });
      try {
        await waitFor(() => (clientErrors.includes('started') ? true : undefined), 'the client to start');
        owner.kill('SIGTERM');
        await new Promise((resolve) => owner.once('exit', resolve));
        const next = await waitFor(() => {
          const pid = ownerOf();
          return pid !== undefined && pid !== owner.pid ? pid : undefined;
        }, 'a new owner');
        expect(next).toBe(client.pid);
        const ps = await runAos(where, ['ps', '--json'], env);
        expect(ps.code).toBe(0);
        expect(clientExit).toBeUndefined();
        expect(clientErrors).not.toContain('unavailable');
      } finally {
        owner.kill('SIGKILL');
        client.kill('SIGKILL');
      }
    },
    cliTimeout,
  );
});

describe('fs write reads at most the size limit (finding 10)', () => {
  it(
    'fails fast with limit_exceeded on /dev/zero, as FILE or on standard input, and stores nothing',
    async () => {
      const where = folder();
      const env = { AOS_FS_MAX_FILE_BYTES: '1048576' };
      const fromFile = await runAos(
        where,
        ['fs', 'write', '--ns', 'owner:local', '/zero', '/dev/zero', '--json'],
        env,
        60_000,
      );
      expect(fromFile.code).toBe(8);
      expect(envelope(fromFile).error.code).toBe('limit_exceeded');
      // Standard input: one byte over the limit, and never closed: it must stop there, not wait for the end.
      const writer = spawn(process.execPath, [cli, 'fs', 'write', '--ns', 'owner:local', '/zero', '--json'], {
        cwd: where,
        env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '', ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stderr = '';
      writer.stderr!.on('data', (chunk) => {
        stderr += chunk;
      });
      writer.stdin!.on('error', () => {});
      writer.stdin!.write(Buffer.alloc(1048577));
      const timer = setTimeout(() => writer.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((resolve) => writer.once('exit', resolve));
      clearTimeout(timer);
      const fromStdin = { code, stdout: '', stderr };
      expect(fromStdin.code).toBe(8);
      expect(envelope(fromStdin).error.code).toBe('limit_exceeded');
      const list = await runAos(where, ['fs', 'ls', '--ns', 'owner:local', '--json']);
      expect(list.code === 0 ? JSON.parse(list.stdout) : []).toEqual([]);
    },
    cliTimeout,
  );
});

describe('an interrupted command (finding 15)', () => {
  for (const [signal, exit] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(
      `exits ${exit} at once on the first ${signal}, and fs write stores nothing`,
      async () => {
        const where = folder();
        const child = spawn(process.execPath, [cli, 'fs', 'write', '--ns', 'owner:local', '/half.txt'], {
          cwd: where,
          env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '' },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stderr = '';
        child.stderr!.on('data', (chunk) => {
          stderr += chunk;
        });
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        child.stdin!.write('the first half of a file\n');
        // Signal once the command has started (it opens its home after taking the signals),
        // not after a fixed time: on a loaded machine Node may take longer to load.
        for (let waited = 0; !existsSync(join(where, '.aos')) && waited < 30_000; waited += 50)
          await new Promise((resolve) => setTimeout(resolve, 50));
        await new Promise((resolve) => setTimeout(resolve, 300));
        child.kill(signal);
        await new Promise((resolve) => setTimeout(resolve, 500));
        // The rest of the pipeline ends (as a shell's would on Ctrl-C): the input is cut short.
        child.stdin!.end();
        expect(await exited).toBe(exit);
        expect(stderr).toContain(`interrupted by ${signal}`);
        const cat = await runAos(where, ['fs', 'cat', '--ns', 'owner:local', '/half.txt', '--json']);
        expect(cat.code).not.toBe(0);
      },
      cliTimeout,
    );
  }
});

describe('agent text printed for people (finding 11)', () => {
  const hostile = 'wire $1M to account 666\r\u001b[2KMay I read README.md?\u202e';
  const hasRaw = (text: string) =>
    ['\r', '\u0007', '\u001b', '\u202e'].some((character) => text.includes(character));

  it(
    'escapes control characters and bidi overrides in approval questions, results, memories and file names; --json stays exact',
    async () => {
      const where = folder();
      const question = JSON.stringify(hostile);
      writeFileSync(
        join(where, 'asker.yaml'),
        `turns:\n  - tool_calls: [{ name: approval, arguments: { question: ${question} } }]\n  - finish: ${question}\n`,
      );
      writeFileSync(
        join(where, 'asker.md'),
        '---\nname: asker\nmodel: scripted:./asker.yaml\ntools: [approval, finish]\n---\nYou ask.\n',
      );
      const runner = startAos(where, ['run', 'asker.md'], {});
      let text = '';
      let runnerErrors = '';
      runner.stderr!.on('data', (chunk) => {
        runnerErrors += chunk;
      });
      for (let attempt = 0; attempt < 100; attempt++) {
        const run = await runAos(where, ['approvals']);
        expect(runnerErrors).not.toContain('aos:');
        if (run.code === 0 && run.stdout.includes('process')) {
          text = run.stdout;
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      runner.kill('SIGKILL');
      expect(text).toContain('wire $1M to account 666\\r\\x1b[2KMay I read README.md?\\u{202e}');
      expect(hasRaw(text)).toBe(false);
      const json = await runAos(where, ['approvals', '--json']);
      expect((JSON.parse(json.stdout) as { question: string }[])[0]!.question).toBe(hostile);

      expect((await runAos(where, ['mem', 'add', '--ns', 'owner:local', hostile, '--id', 'm1'])).code).toBe(
        0,
      );
      for (const args of [
        ['mem', 'get', '--ns', 'owner:local', 'm1'],
        ['mem', 'ls', '--ns', 'owner:local'],
      ]) {
        const shown = await runAos(where, args);
        expect(shown.code).toBe(0);
        expect(shown.stdout).toContain('\\x1b[2K');
        expect(hasRaw(shown.stdout)).toBe(false);
      }
      const name = '/notes/\u202etxt.exe';
      const written = await runAos(where, ['fs', 'write', '--ns', 'owner:local', name, '/etc/hostname']);
      expect(written.code, written.stderr).toBe(0);
      expect(hasRaw(written.stdout)).toBe(false);
      const listing = await runAos(where, ['fs', 'ls', '--ns', 'owner:local', '/notes']);
      expect(listing.stdout).toContain('\\u{202e}txt.exe');
      expect(hasRaw(listing.stdout)).toBe(false);
      const error = await runAos(where, ['fs', 'cat', '--ns', 'owner:local', '/notes/\u001b]0;owned\u0007']);
      expect(error.code).toBe(2);
      expect(hasRaw(error.stderr)).toBe(false);
    },
    cliTimeout,
  );
});

describe('bad input (the low findings)', () => {
  it(
    'takes no global flag after --: a file named --home=x is a file',
    async () => {
      const where = folder();
      writeFileSync(join(where, '--home=elsewhere'), 'content');
      const written = await runAos(where, [
        'fs',
        'write',
        '--ns',
        'owner:local',
        '/f.txt',
        '--',
        '--home=elsewhere',
      ]);
      expect(written.code, written.stderr).toBe(0);
      expect(existsSync(join(where, 'elsewhere'))).toBe(false);
      const cat = await runAos(where, ['fs', 'cat', '--ns', 'owner:local', '/f.txt']);
      expect(cat.stdout).toBe('content');
      const json = await runAos(where, ['fs', 'write', '--ns', 'owner:local', '/g.txt', '--', '--json']);
      expect(json.code).toBe(3);
      expect(json.stderr).toMatch(/^aos: not_found: no file --json/);
    },
    cliTimeout,
  );

  it(
    'refuses 10,000-deep JSON in mem import as invalid_input naming FILE:LINE',
    async () => {
      const where = folder();
      const depth = 10_000;
      writeFileSync(
        join(where, 'deep.jsonl'),
        `{"id":"a","text":"fine"}\n{"id":"b","text":"t","meta":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}\n`,
      );
      const run = await runAos(where, ['mem', 'import', '--ns', 'owner:local', 'deep.jsonl', '--json']);
      expect(run.code).toBe(2);
      const { error } = envelope(run);
      expect(error.code).toBe('invalid_input');
      expect(error.message).toMatch(/^deep\.jsonl:2: /);
    },
    cliTimeout,
  );
});
