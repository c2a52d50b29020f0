/** Process lifecycle and children, on PGlite and on the server. */
import { describe, expect, it } from 'vitest';
import type { AosError } from '../src/errors.js';
import { drainAudit } from '../src/trust/audit.js';
import { testDatabases } from './support/databases.js';
import { reaches, testKernels } from './support/kernel.js';

describe.each(testDatabases)('processes on $name', (database) => {
  const start = testKernels(database);

  it('runs an agent to exit 0 and journals every step in order', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'greeter',
      'tools: [finish, sleep]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]\n  - finish: "hi {{input}}"\n',
    );
    const spawned = await kernel.call('spawn', { agent: file, input: 'Ada' });
    expect(['ready', 'running']).toContain(spawned.state);
    const done = await kernel.call('wait', { pid: spawned.pid, timeout: '20s' });
    expect(done).toMatchObject({ state: 'exited', exitStatus: 0, result: 'hi Ada', error: null, steps: 4 });
    const steps = await kernel.db.query<{ seq: number; kind: string; name: string | null; status: string }>(
      'select seq, kind, name, status from aos.steps where pid = $1 order by seq',
      [spawned.pid],
    );
    expect(steps.rows.map((step) => `${step.seq}:${step.kind}:${step.name ?? ''}:${step.status}`)).toEqual([
      '1:spawn::done',
      '2:model:scripted:./greeter.yaml:done',
      '3:tool:sleep:done',
      '4:model:scripted:./greeter.yaml:done',
      '5:tool:finish:done',
    ]);
    // wait reaped it: ps hides it, ps --all shows it.
    expect((await kernel.call('ps', {})).map((process) => process.pid)).not.toContain(spawned.pid);
    expect((await kernel.call('ps', { all: true })).map((process) => process.pid)).toContain(spawned.pid);
  });

  it('moves from ready to running to exited, and wait returns status and result', async () => {
    const { kernel, agent, worker } = await start({ startWorker: false });
    const file = agent(
      'stately',
      'tools: [finish]',
      'turns:\n  - delay_ms: 400\n    finish: "did {{input}}"\n',
    );
    const spawned = await kernel.call('spawn', { agent: file, input: 'the thing' });
    expect(spawned).toMatchObject({
      state: 'ready',
      agent: 'stately',
      agentVersion: 1,
      ppid: null,
      steps: 0,
      exitStatus: null,
      startedAt: null,
      worker: null,
    });
    // No worker runs yet: it stays ready, and a wait with a deadline gives up without reaping it.
    const early = await kernel
      .call('wait', { pid: spawned.pid, timeout: '100ms' })
      .catch((error: unknown) => error as AosError);
    expect(early).toMatchObject({ code: 'timeout' });
    expect((await kernel.call('ps', {})).find((row) => row.pid === spawned.pid)?.state).toBe('ready');

    await worker.start();
    await reaches(kernel, spawned.pid, 'running');
    const running = (await kernel.call('ps', {})).find((row) => row.pid === spawned.pid)!;
    expect(running.worker).toBe(worker.id);
    expect(running.startedAt).not.toBeNull();

    const done = await kernel.call('wait', { pid: spawned.pid, timeout: '20s' });
    expect(done).toMatchObject({ state: 'exited', exitStatus: 0, result: 'did the thing', worker: null });
    expect(done.exitedAt).not.toBeNull();
    // A zombie answers wait again with the same outcome.
    expect(await kernel.call('wait', { pid: spawned.pid })).toMatchObject({
      exitStatus: 0,
      result: 'did the thing',
    });
  });

  it('ends the process with the text of a plain answer, and with the status given to finish', async () => {
    const { kernel, agent } = await start();
    const plain = agent('plain', 'tools: [finish]', 'turns:\n  - text: "the answer is {{input}}"\n');
    const failing = agent(
      'failing',
      'tools: [finish]',
      'turns:\n  - tool_calls: [{ name: finish, arguments: { result: nope, status: 3 } }]\n',
    );
    const first = await kernel.call('spawn', { agent: plain, input: '42' });
    const second = await kernel.call('spawn', { agent: failing });
    expect(await kernel.call('wait', { pid: first.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'the answer is 42',
      error: null,
    });
    expect(await kernel.call('wait', { pid: second.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 3,
      result: 'nope',
    });
    // The plain answer is the last model step, and no tool step after it: the process exits.
    const kinds = await kernel.db.query<{ kind: string }>(
      'select kind from aos.steps where pid = $1 order by seq',
      [first.pid],
    );
    expect(kinds.rows.map((row) => row.kind)).toEqual(['spawn', 'model', 'exit']);
  });

  it('runs three children listed under agents:, collects their results, and refuses an unlisted one', async () => {
    const { kernel, agent } = await start();
    agent('child', 'tools: [finish]', 'turns:\n  - finish: "child did {{input}}"\n');
    const parent = agent(
      'parent',
      'tools: [spawn, wait, finish]\nagents: [./child.md]',
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: spawn, arguments: { agent: child, input: a } }',
        '      - { name: spawn, arguments: { agent: child, input: b } }',
        '      - { name: spawn, arguments: { agent: child, input: c } }',
        '      - { name: spawn, arguments: { agent: stranger, input: d } }',
        '  - tool_calls:',
        '      - { name: wait, arguments: { pid: "{{result.0.pid}}" } }',
        '      - { name: wait, arguments: { pid: "{{result.1.pid}}" } }',
        '      - { name: wait, arguments: { pid: "{{result.2.pid}}" } }',
        '  - finish: "{{observations}}"',
        '',
      ].join('\n'),
    );
    const spawned = await kernel.call('spawn', { agent: parent });
    const done = await kernel.call('wait', { pid: spawned.pid, timeout: '20s' });
    expect(done.error).toBeNull();
    expect(done.exitStatus).toBe(0);

    const children = await kernel.call('ps', { all: true, ppid: spawned.pid });
    expect(children).toHaveLength(3);
    for (const child of children) {
      expect(child).toMatchObject({ ppid: spawned.pid, agent: 'child', state: 'exited', exitStatus: 0 });
    }
    // The parent's waits reaped them.
    expect(await kernel.call('ps', { ppid: spawned.pid })).toEqual([]);
    // {{observations}} is the three wait results, one a line, in the order of the calls.
    const collected = String(done.result)
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(collected).toEqual(
      children.map((child, index) => ({
        pid: child.pid,
        exitStatus: 0,
        result: `child did ${'abc'[index]}`,
        error: null,
      })),
    );

    const refused = await kernel.db.query<{
      input: { agent: string };
      output: { content: string; isError?: boolean };
    }>("select input, output from aos.steps where pid = $1 and kind = 'tool' and status = 'failed'", [
      spawned.pid,
    ]);
    expect(refused.rows).toHaveLength(1);
    expect(refused.rows[0]!.input.agent).toBe('stranger');
    expect(refused.rows[0]!.output).toMatchObject({
      isError: true,
      output: {
        error: { code: 'forbidden', message: expect.stringMatching(/may spawn only child, not "stranger"/) },
      },
    });
    // The denial is audited once, as the process, naming the rule that denied it.
    // Entries are chained (and so in aos.audit) asynchronously: chain what is pending first.
    await drainAudit(kernel.db);
    const audited = await kernel.db.query<{ actor: string; data: string }>(
      "select actor, data from aos.audit where kind = 'syscall' and data::jsonb ->> 'name' = 'spawn' and not (data::jsonb -> 'ok')::boolean",
    );
    expect(audited.rows.map((row) => [row.actor, JSON.parse(row.data).rule])).toEqual([
      [`process:${spawned.pid}`, 'spawn:stranger'],
    ]);
  });

  it('spawns a child from the kernel with a ppid, and refuses a parent that does not exist', async () => {
    const { kernel, agent } = await start();
    const file = agent('solo', 'tools: [finish]', 'turns:\n  - finish: ok\n');
    const parent = await kernel.call('spawn', { agent: file });
    const child = await kernel.call('spawn', { agent: 'solo', ppid: parent.pid });
    expect(child).toMatchObject({ ppid: parent.pid, agent: 'solo' });
    const orphan = await kernel
      .call('spawn', { agent: 'solo', ppid: 999_999 })
      .catch((error: unknown) => error as AosError);
    expect(orphan).toMatchObject({ code: 'not_found' });
    const unknown = await kernel
      .call('spawn', { agent: 'nobody' })
      .catch((error: unknown) => error as AosError);
    expect(unknown).toMatchObject({ code: 'not_found', message: expect.stringMatching(/nobody/) });
    expect(await kernel.call('wait', { pid: child.pid, timeout: '20s' })).toMatchObject({ exitStatus: 0 });
  });
});
