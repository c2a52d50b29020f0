/** Signals (TERM, KILL, STOP, CONT, INT) and limits (XCPU), on PGlite and on the server. */
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { testDatabases } from './support/databases.js';
import { eventually, reaches, type TestKernel, testKernels } from './support/kernel.js';

const listener = 'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "got {{last}}"\n';

describe.each(testDatabases)('signals and limits on $name', (database) => {
  const start = testKernels(database);

  async function stateOf(test: TestKernel, pid: number): Promise<string | undefined> {
    return (await test.kernel.call('ps', { all: true })).find((row) => row.pid === pid)?.state;
  }

  it('TERM wakes a waiting process with a notice, interrupts its recv, and lets it finish', async () => {
    const t = await start();
    const file = t.agent(
      'graceful',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - match: TERM\n    finish: "saved my work"\n',
    );
    const { pid } = await t.kernel.call('spawn', { agent: file });
    await eventually('waiting', async () => ((await stateOf(t, pid)) === 'waiting' ? true : undefined));
    await t.kernel.call('kill', { pid, signal: 'TERM' });
    const done = await t.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, result: 'saved my work' });
    // The recv it was blocked in ended with an error result, right after the TERM was delivered;
    // the agent then saw the notice (its script finishes only on a TERM notice).
    const journal = await t.kernel.db.query<{ kind: string; name: string; status: string; output: unknown }>(
      'select kind, name, status, output from aos.steps where pid = $1 order by seq',
      [pid],
    );
    const term = journal.rows.findIndex((step) => step.kind === 'signal' && step.name === 'TERM');
    expect(journal.rows[term + 1]).toMatchObject({
      kind: 'tool',
      name: 'recv',
      status: 'failed',
      output: { isError: true, content: expect.stringMatching(/interrupted by signal TERM/) },
    });
    expect(journal.rows.filter((step) => step.kind === 'tool' && step.name === 'recv')).toHaveLength(1);
  });

  it('TERM kills with 137 when the grace steps or the grace time run out', async () => {
    const t = await start();
    const looping = (turns: number) =>
      [
        'delay_ms: 100',
        'turns:',
        ...Array.from(
          { length: turns },
          () => '  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]',
        ),
        '  - finish: never',
        '',
      ].join('\n');
    const bySteps = t.agent(
      'stubborn',
      'tools: [sleep, finish]\nsignals: { term_grace_steps: 2 }',
      looping(10),
    );
    const byTime = t.agent(
      'dawdler',
      'tools: [sleep, finish]\nsignals: { term_grace_steps: 1000, term_grace_time: 300ms }',
      looping(100),
    );
    for (const file of [bySteps, byTime]) {
      const { pid } = await t.kernel.call('spawn', { agent: file });
      await eventually('running', async () => ((await stateOf(t, pid)) === 'running' ? true : undefined));
      await t.kernel.call('kill', { pid, signal: 'TERM' });
      const done = await t.kernel.call('wait', { pid, timeout: '20s' });
      expect(done).toMatchObject({ exitStatus: 137, error: { code: 'killed' } });
      expect(done.error?.message).toMatch(/did not finish within the grace period after TERM/);
      const term = await t.kernel.db.query(
        "select 1 from aos.steps where pid = $1 and kind = 'signal' and name = 'TERM'",
        [pid],
      );
      expect(term.rowCount).toBe(1);
    }
  });

  it('KILL ends a waiting process at once and a running one at its step boundary', async () => {
    const t = await start();
    const waiting = t.agent('waiter', 'tools: [recv, finish]', listener);
    const slow = t.agent(
      'slowpoke',
      'tools: [finish]',
      'turns:\n  - delay_ms: 60000\n    finish: too late\n',
    );
    const first = await t.kernel.call('spawn', { agent: waiting });
    const second = await t.kernel.call('spawn', { agent: slow });
    await eventually('waiting and running', async () =>
      (await stateOf(t, first.pid)) === 'waiting' && (await stateOf(t, second.pid)) === 'running'
        ? true
        : undefined,
    );
    expect((await t.kernel.call('kill', { pid: first.pid, signal: 'KILL' })).state).toBe('exited');
    await t.kernel.call('kill', { pid: second.pid, signal: 'SIGKILL' });
    for (const pid of [first.pid, second.pid]) {
      const done = await t.kernel.call('wait', { pid, timeout: '20s' });
      expect(done).toMatchObject({ exitStatus: 137, error: { code: 'killed' } });
    }
  });

  it('KILL ends a ready process and a sleeping one at once, without running them', async () => {
    const t = await start({ startWorker: false });
    const file = t.agent(
      'doomed',
      'tools: [sleep, finish]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 1h } }]\n  - finish: never\n',
    );
    const ready = await t.kernel.call('spawn', { agent: file });
    const sleeper = await t.kernel.call('spawn', { agent: file });
    expect((await t.kernel.call('kill', { pid: ready.pid, signal: 'KILL' })).state).toBe('exited');
    await t.worker.start();
    await reaches(t.kernel, sleeper.pid, 'sleeping', 'sleep');
    expect((await t.kernel.call('kill', { pid: sleeper.pid, signal: 'KILL' })).state).toBe('exited');
    for (const pid of [ready.pid, sleeper.pid]) {
      expect(await t.kernel.call('wait', { pid, timeout: '1s' })).toMatchObject({
        exitStatus: 137,
        error: { code: 'killed', message: 'killed by signal KILL' },
      });
    }
    const journal = await t.kernel.db.query<{ kind: string; name: string | null }>(
      'select kind, name from aos.steps where pid = $1 order by seq',
      [ready.pid],
    );
    expect(journal.rows).toEqual([
      { kind: 'spawn', name: null },
      { kind: 'signal', name: 'KILL' },
    ]);
  });

  it('STOP pauses a running process at its next step boundary and CONT lets it finish', async () => {
    const t = await start();
    const steps = Array.from(
      { length: 6 },
      () => '  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]',
    );
    const file = t.agent(
      'worker-bee',
      'tools: [sleep, finish]',
      ['delay_ms: 100', 'turns:', ...steps, '  - finish: "all done"', ''].join('\n'),
    );
    const { pid } = await t.kernel.call('spawn', { agent: file });
    await reaches(t.kernel, pid, 'running');
    await t.kernel.call('kill', { pid, signal: 'STOP' });
    await reaches(t.kernel, pid, 'stopped');
    const journalLength = async () =>
      (await t.kernel.db.query('select seq from aos.steps where pid = $1', [pid])).rowCount;
    const before = await journalLength();
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(await stateOf(t, pid)).toBe('stopped');
    expect(await journalLength()).toBe(before);
    expect((await t.kernel.call('kill', { pid, signal: 'CONT' })).state).toBe('ready');
    expect(await t.kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'all done',
    });
    // Every step ran once, the pause included.
    const tools = await t.kernel.db.query<{ name: string; count: number }>(
      "select name, count(*)::int as count from aos.steps where pid = $1 and kind = 'tool' group by name order by name",
      [pid],
    );
    expect(tools.rows).toEqual([
      { name: 'finish', count: 1 },
      { name: 'sleep', count: 6 },
    ]);
  });

  it('STOP pauses a process and CONT resumes it where it was', async () => {
    const t = await start();
    const file = t.agent('pausable', 'tools: [recv, finish]', listener);
    const { pid } = await t.kernel.call('spawn', { agent: file });
    await eventually('waiting', async () => ((await stateOf(t, pid)) === 'waiting' ? true : undefined));
    expect((await t.kernel.call('kill', { pid, signal: 'STOP' })).state).toBe('stopped');
    await t.kernel.call('send', { pid, message: 'while stopped' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await stateOf(t, pid)).toBe('stopped');
    expect((await t.kernel.call('kill', { pid, signal: 'CONT' })).state).toBe('ready');
    expect(await t.kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({ exitStatus: 0 });
  });

  it('INT interrupts a slow model call and the process goes on with a notice', async () => {
    const t = await start();
    const file = t.agent(
      'thinker',
      'tools: [finish]',
      "turns:\n  - match: '/^(?![\\s\\S]*interrupted)/'\n    delay_ms: 60000\n    finish: slow\n  - match: interrupted\n    finish: 'interrupted, moving on'\n",
    );
    const { pid } = await t.kernel.call('spawn', { agent: file });
    await eventually('running', async () => ((await stateOf(t, pid)) === 'running' ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await t.kernel.call('kill', { pid, signal: 'INT' });
    expect(await t.kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'interrupted, moving on',
    });
    const steps = await t.kernel.db.query<{
      kind: string;
      name: string | null;
      output: { toolCalls?: { arguments: { result?: string } }[] } | null;
    }>('select kind, name, output from aos.steps where pid = $1 order by seq', [pid]);
    expect(steps.rows.map((step) => `${step.kind}:${step.name}`)).toEqual([
      'spawn:null',
      'signal:INT',
      'model:scripted:./thinker.yaml',
      'tool:finish',
    ]);
    // The interrupted call left no answer in the journal: the only model step is the one
    // made again after INT, which saw the notice (its script answers so only on "interrupted").
    expect(steps.rows[2]!.output?.toolCalls?.[0]?.arguments.result).toBe('interrupted, moving on');
  });

  it('answers not_found, conflict and invalid_input for bad signals', async () => {
    const t = await start();
    const file = t.agent('quick', 'tools: [finish]', 'turns:\n  - finish: ok\n');
    const { pid } = await t.kernel.call('spawn', { agent: file });
    await t.kernel.call('wait', { pid, timeout: '20s' });
    const codeOf = (promise: Promise<unknown>) =>
      promise.then(
        () => 'ok',
        (error: unknown) => (error as AosError).code,
      );
    expect(await codeOf(t.kernel.call('kill', { pid: 999_999 }))).toBe('not_found');
    expect(await codeOf(t.kernel.call('kill', { pid }))).toBe('conflict');
    expect(await codeOf(t.kernel.call('kill', { pid, signal: 'HUP' }))).toBe('invalid_input');
    expect(await codeOf(t.kernel.call('send', { pid: 999_999, message: 'x' }))).toBe('not_found');
    expect(await codeOf(t.kernel.call('wait', { pid: 999_999 }))).toBe('not_found');
    const error = await t.kernel.call('kill', { pid }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AosError);
    expect((error as AosError).hint).toMatch(/aos wait/);
  });

  it('raises XCPU (152) at the step limit of the agent file and of spawn', async () => {
    const t = await start();
    const many = [
      'turns:',
      ...Array.from({ length: 20 }, () => '  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]'),
      '',
    ].join('\n');
    const limited = t.agent('limited', 'tools: [sleep, finish]\nlimits: { max_steps: 4 }', many);
    const unlimited = t.agent('unlimited', 'tools: [sleep, finish]', many);
    const first = await t.kernel.call('spawn', { agent: limited });
    const second = await t.kernel.call('spawn', { agent: unlimited, maxSteps: 6 });
    const firstDone = await t.kernel.call('wait', { pid: first.pid, timeout: '20s' });
    expect(firstDone).toMatchObject({ exitStatus: 152, steps: 4, error: { code: 'limit_exceeded' } });
    expect(firstDone.error?.message).toMatch(/step limit reached: 4 of 4/);
    expect(await t.kernel.call('wait', { pid: second.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 152,
      steps: 6,
    });
  });

  it('raises XCPU at the wall-time limit', async () => {
    const t = await start();
    const many = [
      'delay_ms: 100',
      'turns:',
      ...Array.from({ length: 50 }, () => '  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]'),
      '',
    ].join('\n');
    const file = t.agent('timed', 'tools: [sleep, finish]\nlimits: { max_wall_time: 500ms }', many);
    const untimed = t.agent('untimed', 'tools: [sleep, finish]', many);
    const { pid } = await t.kernel.call('spawn', { agent: file });
    const second = await t.kernel.call('spawn', { agent: untimed, maxWallTime: '500ms' });
    for (const each of [pid, second.pid]) {
      const done = await t.kernel.call('wait', { pid: each, timeout: '20s' });
      expect(done).toMatchObject({ exitStatus: 152, error: { code: 'limit_exceeded' } });
      expect(done.error?.message).toMatch(/wall time limit reached: \d+ ms of 500 ms/);
    }
  });
});
