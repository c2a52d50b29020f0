/**
 * The example programs in examples/ run as their headers say, on PGlite and the server:
 * the fan-out research program, the pipeline with a human approval, the supervisor
 * that restarts a failing child; and `aos run FILE.ts` from the CLI.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { packageRoot } from '../src/package-root.js';
import { runAos } from './support/cli.js';
import { testDatabases } from './support/databases.js';
import { reaches, testKernels } from './support/kernel.js';

const examples = join(packageRoot(), 'examples');

describe.each(testDatabases)('example programs on $name', (database) => {
  const start = testKernels(database);
  let home: string;
  const previousHome = process.env.AOS_HOME;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'aos-examples-'));
    process.env.AOS_HOME = home;
  });
  afterEach(() => {
    if (previousHome === undefined) delete process.env.AOS_HOME;
    else process.env.AOS_HOME = previousHome;
  });

  it('fans out to three researchers in parallel and combines their findings', async () => {
    const t = await start();
    const { pid } = await t.kernel.call('spawn', {
      agent: join(examples, 'fanout', 'fanout.ts'),
      input: 'batteries',
    });
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done).toMatchObject({
      exitStatus: 0,
      result: {
        topic: 'batteries',
        findings: [
          'finding on batteries: history',
          'finding on batteries: state of the art',
          'finding on batteries: open problems',
        ],
      },
    });
    expect(await t.kernel.call('ps', { all: true, ppid: pid })).toHaveLength(3);
  });

  it('publishes only after a person approves, and not at all when denied', async () => {
    const t = await start();
    const pipeline = join(examples, 'pipeline', 'pipeline.ts');
    const approved = await t.kernel.call('spawn', { agent: pipeline, input: 'v1' });
    const denied = await t.kernel.call('spawn', { agent: pipeline, input: 'v2' });
    await reaches(t.kernel, approved.pid, 'waiting', 'approval');
    await reaches(t.kernel, denied.pid, 'waiting', 'approval');
    expect(existsSync(join(home, 'published', 'release-v1.md'))).toBe(false);
    const [first] = await t.kernel.call('approvals', { pid: approved.pid });
    const [second] = await t.kernel.call('approvals', { pid: denied.pid });
    expect(first!.question).toMatch(/^Publish the release notes for v1 \(5 lines\)\?$/);
    await t.kernel.call('approve', { pid: approved.pid, id: first!.id });
    await t.kernel.call('deny', { pid: denied.pid, id: second!.id, reason: 'wait for the security fix' });
    const yes = await t.kernel.call('wait', { pid: approved.pid, timeout: '30s' });
    expect(yes).toMatchObject({ exitStatus: 0, result: { published: true, approvedBy: 'user:local' } });
    expect(readFileSync(join(home, 'published', 'release-v1.md'), 'utf8')).toMatch(/^# Release v1/);
    const no = await t.kernel.call('wait', { pid: denied.pid, timeout: '30s' });
    expect(no).toMatchObject({
      exitStatus: 0,
      result: { published: false, reason: 'wait for the security fix' },
    });
    expect(existsSync(join(home, 'published', 'release-v2.md'))).toBe(false);
  });

  it('restarts a failing child until it succeeds, and gives up after five attempts', async () => {
    const t = await start();
    const supervisor = join(examples, 'supervisor', 'supervisor.ts');
    const patient = await t.kernel.call('spawn', { agent: supervisor, input: '3' });
    const hopeless = await t.kernel.call('spawn', { agent: supervisor, input: '9' });
    const done = await t.kernel.call('wait', { pid: patient.pid, timeout: '60s' });
    expect(done).toMatchObject({ exitStatus: 0, result: { attempts: 3, result: 'succeeded on attempt 3' } });
    expect((done.result as { failures: string[] }).failures).toHaveLength(2);
    const children = await t.kernel.call('ps', { all: true, ppid: patient.pid });
    expect(children.map((child) => child.exitStatus)).toEqual([1, 1, 0]);
    const gaveUp = await t.kernel.call('wait', { pid: hopeless.pid, timeout: '60s' });
    expect(gaveUp).toMatchObject({
      exitStatus: 1,
      error: { message: expect.stringMatching(/^flaky failed five times/) },
    });
  });
});

describe('aos run FILE.ts', () => {
  it('runs a program module from the CLI, and answers a missing one with not_found', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'aos-run-program-'));
    const run = await runAos(
      folder,
      ['run', join(examples, 'supervisor', 'supervisor.ts'), '2', '--json'],
      {},
      180_000,
    );
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      agent: 'supervisor',
      exitStatus: 0,
      result: { attempts: 2 },
    });
    const missing = await runAos(folder, ['run', join(folder, 'nope.ts'), '--json'], {}, 180_000);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stderr).error).toMatchObject({
      code: 'not_found',
      message: expect.stringMatching(/nope\.ts/),
    });
  }, 400_000);
});
