/** Process lifecycle, children, IPC and the SQL face, on PGlite and on the server. */
import { describe, expect, it } from 'vitest';
import { testDatabases } from './support/databases.js';
import { eventually, testKernels } from './support/kernel.js';

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
    expect(steps.rows.map((step) => `${step.seq}:${step.kind}:${step.status}`)).toEqual([
      '1:spawn:done',
      '2:model:done',
      '3:tool:done',
      '4:model:done',
      '5:tool:done',
    ]);
    // wait reaped it: ps hides it, ps --all shows it.
    expect((await kernel.call('ps', {})).map((process) => process.pid)).not.toContain(spawned.pid);
    expect((await kernel.call('ps', { all: true })).map((process) => process.pid)).toContain(spawned.pid);
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
    });
    expect(await kernel.call('wait', { pid: second.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 3,
      result: 'nope',
    });
  });

  it('runs children listed under agents:, collects their results, and refuses unlisted ones', async () => {
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
        '      - { name: spawn, arguments: { agent: stranger, input: c } }',
        '  - tool_calls:',
        '      - { name: wait, arguments: { pid: "{{result.0.pid}}" } }',
        '      - { name: wait, arguments: { pid: "{{result.1.pid}}" } }',
        '  - finish: "{{result.0.result}} + {{result.1.result}}"',
        '',
      ].join('\n'),
    );
    const spawned = await kernel.call('spawn', { agent: parent });
    const done = await kernel.call('wait', { pid: spawned.pid, timeout: '20s' });
    expect(done.error).toBeNull();
    expect(done).toMatchObject({ exitStatus: 0, result: 'child did a + child did b' });
    const children = await kernel.call('ps', { all: true, ppid: spawned.pid });
    expect(children).toHaveLength(2);
    const refused = await kernel.db.query<{ messages: { content: string; isError?: boolean }[] }>(
      "select messages from aos.steps where pid = $1 and kind = 'tool' and status = 'failed'",
      [spawned.pid],
    );
    expect(refused.rows[0]?.messages[0]).toMatchObject({
      isError: true,
      content: expect.stringMatching(/forbidden/),
    });
  });

  it('blocks recv in state waiting until a message arrives, and consumes it exactly once', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'listener',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "{{result.0.message}}"\n',
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    await eventually('waiting for a message', async () => {
      const [process] = (await kernel.call('ps', {})).filter((row) => row.pid === pid);
      return process?.state === 'waiting' && process.waitReason === 'message' ? true : undefined;
    });
    await kernel.call('send', { pid, message: 'ping' });
    await kernel.call('send', { pid, message: 'pong' });
    const done = await kernel.call('wait', { pid, timeout: '20s' });
    expect(done.result).toBe('ping');
    const mailbox = await kernel.db.query<{ body: string; received: boolean }>(
      'select body, received_at is not null as received from aos.mailbox where pid = $1 order by id',
      [pid],
    );
    expect(mailbox.rows).toEqual([
      { body: 'ping', received: true },
      { body: 'pong', received: false },
    ]);
  });

  it('times out a recv, sleeps durably, and parks a parent waiting for its child', async () => {
    const { kernel, agent } = await start();
    agent(
      'napper',
      'tools: [sleep, finish]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 300ms } }]\n  - finish: rested\n',
    );
    const file = agent(
      'patient',
      'tools: [recv, spawn, wait, finish]\nagents: [./napper.md]',
      [
        'turns:',
        '  - tool_calls: [{ name: recv, arguments: { timeout: 100ms } }]',
        '  - tool_calls: [{ name: spawn, arguments: { agent: napper } }]',
        '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]',
        '  - finish: "{{result.0.result}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    await eventually('the napper to sleep', async () => {
      const processes = await kernel.call('ps', {});
      const napper = processes.find((row) => row.ppid === pid);
      const parent = processes.find((row) => row.pid === pid);
      return napper?.state === 'sleeping' && parent?.state === 'waiting' && parent.waitReason === 'child'
        ? true
        : undefined;
    });
    const done = await kernel.call('wait', { pid, timeout: '20s' });
    expect(done.result).toBe('rested');
    const timedOut = await kernel.db.query<{ output: { timedOut?: boolean } }>(
      "select output from aos.steps where pid = $1 and name = 'recv'",
      [pid],
    );
    expect(timedOut.rows[0]?.output).toEqual({ timedOut: true });
  });

  it('is driven from SQL: aos.spawn, aos.send, aos.kill and the aos.ps view', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'sqlish',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "got {{result.0.message}}"\n',
    );
    await kernel
      .call('wait', { pid: (await kernel.call('spawn', { agent: file })).pid, timeout: '1s' })
      .catch(() => {});
    const spawned = await kernel.db.query<{ pid: number }>("select aos.spawn('sqlish', 'from psql') as pid");
    const pid = spawned.rows[0]!.pid;
    await eventually('the SQL-spawned process to wait', async () => {
      const view = await kernel.db.query<{ state: string }>('select state from aos.ps where pid = $1', [pid]);
      return view.rows[0]?.state === 'waiting' ? true : undefined;
    });
    await kernel.db.query("select aos.send($1, 'hello')", [pid]);
    expect(await kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'got hello',
    });
    const victim = (await kernel.db.query<{ pid: number }>("select aos.spawn('sqlish') as pid")).rows[0]!.pid;
    await eventually('the victim to wait', async () => {
      const view = await kernel.db.query<{ state: string }>('select state from aos.ps where pid = $1', [
        victim,
      ]);
      return view.rows[0]?.state === 'waiting' ? true : undefined;
    });
    await kernel.db.query("select aos.kill($1, 'KILL')", [victim]);
    expect(await kernel.call('wait', { pid: victim, timeout: '20s' })).toMatchObject({ exitStatus: 137 });
  });
});
