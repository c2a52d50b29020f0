/** The contract of a sandbox driver (src/sandbox/sandbox.ts): what every driver does the same way. */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AosError } from '../../src/errors.js';
import { createBubblewrapDriver } from '../../src/sandbox/bubblewrap.js';
import { runAos } from '../support/cli.js';
import { newWorkspace, sandboxDrivers, shell, warnWhenNoSandbox } from './support.js';

warnWhenNoSandbox('the sandbox contract');

describe.each(sandboxDrivers.filter((entry) => entry.available))(
  'the sandbox contract on $driver.name',
  ({ driver }) => {
    it('returns the exit code, stdout and stderr of the command', async () => {
      const result = await shell(driver, 'echo out; echo err >&2; exit 3');
      expect(result).toMatchObject({
        exitCode: 3,
        signal: null,
        stdout: 'out\n',
        stderr: 'err\n',
        killedBy: null,
      });
    });

    it('runs the command as given, without a shell, with its stdin', async () => {
      const workspace = newWorkspace();
      const result = await driver.run({
        command: ['/usr/bin/tr', 'a-z', 'A-Z'],
        workspace,
        stdin: 'shout $HOME',
        deadlineMs: 10_000,
      });
      expect(result.stdout).toBe('SHOUT $HOME');
    });

    it('keeps what the command writes to /workspace in the host workspace, and starts there', async () => {
      const workspace = newWorkspace();
      writeFileSync(join(workspace, 'input.txt'), 'from the host');
      const result = await shell(driver, 'pwd; cat input.txt; echo from the sandbox > output.txt', {
        workspace,
      });
      expect(result.stdout).toBe('/workspace\nfrom the host');
      expect(readFileSync(join(workspace, 'output.txt'), 'utf8')).toBe('from the sandbox\n');
    });

    it('gives the command only the environment it is given, besides PATH, HOME, LANG and TMPDIR', async () => {
      const result = await shell(driver, 'env | sort', { env: { GREETING: 'hello' } });
      const names = result.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0]);
      expect(names.sort()).toEqual(['GREETING', 'HOME', 'LANG', 'PATH', 'PWD', 'TMPDIR']);
    });

    it('keeps at most outputBytes of each stream and counts the rest', async () => {
      const result = await shell(driver, 'head -c 100000 /dev/zero | tr "\\0" x', {
        limits: { outputBytes: 1000 },
      });
      expect(result.stdout).toHaveLength(1000);
      expect(result.stdoutBytes).toBe(100_000);
      expect(result.exitCode).toBe(0);
    });

    it('kills the command at its deadline and says so', async () => {
      const result = await shell(driver, 'echo started; sleep 60', { deadlineMs: 500 });
      expect(result).toMatchObject({ killedBy: 'deadline', exitCode: null, stdout: 'started\n' });
    });

    it('kills the command when the call is aborted and says so', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 300);
      const result = await shell(driver, 'sleep 60', { signal: controller.signal });
      expect(result).toMatchObject({ killedBy: 'abort', exitCode: null });
    });

    it('reports the signal that ended the command', async () => {
      const result = await shell(driver, 'kill -TERM $$');
      expect(result).toMatchObject({ exitCode: null, signal: 'SIGTERM', killedBy: null });
    });

    it('refuses bad requests with invalid_input', async () => {
      const workspace = newWorkspace();
      for (const request of [
        { command: [], workspace, deadlineMs: 1000 },
        { command: ['/bin/true'], workspace: 'relative/path', deadlineMs: 1000 },
        { command: ['/bin/true'], workspace: join(workspace, 'missing'), deadlineMs: 1000 },
        { command: ['/bin/true'], workspace, deadlineMs: 0 },
      ]) {
        await expect(driver.run(request)).rejects.toMatchObject({ code: 'invalid_input' });
      }
    });
  },
);

describe.runIf(sandboxDrivers.some((entry) => entry.available))('the sandbox from the CLI', () => {
  it('aos sandbox check says it is available; aos sandbox run runs a command in a new workspace', async () => {
    const check = await runAos(process.cwd(), ['sandbox', 'check', '--json']);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ driver: 'bubblewrap', available: true });
    const run = await runAos(process.cwd(), [
      'sandbox',
      'run',
      'echo made > f.txt; cat f.txt; exit 4',
      '--json',
    ]);
    expect(run.code).toBe(4);
    const output = JSON.parse(run.stdout) as { workspace: string; stdout: string; exitCode: number };
    expect(output).toMatchObject({ stdout: 'made\n', exitCode: 4 });
    expect(readFileSync(join(output.workspace, 'f.txt'), 'utf8')).toBe('made\n');
    const doctor = JSON.parse((await runAos(newWorkspace(), ['doctor', '--json'])).stdout) as {
      checks: { name: string; status: string }[];
    };
    expect(doctor.checks.find((entry) => entry.name === 'sandbox')).toMatchObject({ status: 'ok' });
    const badDeadline = await runAos(process.cwd(), [
      'sandbox',
      'run',
      '--deadline',
      'soon',
      'true',
      '--json',
    ]);
    expect(badDeadline.code).toBe(2);
    expect(JSON.parse(badDeadline.stderr)).toMatchObject({
      error: { code: 'invalid_input', hint: expect.stringContaining('30s') },
    });
    const noScript = await runAos(process.cwd(), ['sandbox', 'run', '--json']);
    expect(noScript.code).toBe(2);
    const late = await runAos(process.cwd(), ['sandbox', 'run', '--deadline', '300ms', 'sleep 30', '--json']);
    expect(late.code).toBe(7);
    expect(JSON.parse(late.stdout)).toMatchObject({ killedBy: 'deadline' });
  });

  it.runIf(process.getuid?.() === 0)(
    'as root, refuses a workspace the sandbox user does not own, and changes nothing in it',
    async () => {
      const mine = mkdtempSync(join(tmpdir(), 'aos-root-owned-'));
      const run = await runAos(process.cwd(), ['sandbox', 'run', '--workspace', mine, 'touch x', '--json']);
      expect(run.code).toBe(4);
      expect(JSON.parse(run.stderr)).toMatchObject({ error: { code: 'forbidden' } });
      expect(statSync(mine).uid).toBe(0);
      expect(existsSync(join(mine, 'x'))).toBe(false);
    },
  );
});

describe('a sandbox that cannot run here', () => {
  it('says why and what to do, and refuses to run anything with unavailable', async () => {
    const missing = createBubblewrapDriver({ binary: '/nonexistent/bwrap' });
    const found = await missing.availability();
    expect(found).toMatchObject({ available: false, reason: expect.stringContaining('not installed') });
    expect(found.available === false && found.hint).toContain('apt-get install bubblewrap');
    const workspace = newWorkspace();
    const refused = await missing
      .run({ command: ['/bin/sh', '-c', 'touch ran'], workspace, deadlineMs: 1000 })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AosError);
    expect(refused).toMatchObject({ code: 'unavailable' });
    expect(existsSync(join(workspace, 'ran'))).toBe(false);
  });
});
