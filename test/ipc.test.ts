/** IPC: mailboxes (send, recv), durable sleep, and waiting for a child, on PGlite and on the server. */
import { describe, expect, it } from 'vitest';
import type { AosError } from '../src/errors.js';
import { testDatabases } from './support/databases.js';
import { eventually, reaches, stateOf, testKernels } from './support/kernel.js';

describe.each(testDatabases)('IPC on $name', (database) => {
  const start = testKernels(database);

  it('blocks recv in state waiting until a message arrives, consumes it once and journals it', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'listener',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "{{result.0.message}}"\n',
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    await reaches(kernel, pid, 'waiting', 'message');
    // A blocked call is journaled when it completes, not while it waits.
    const whileBlocked = await kernel.db.query(
      "select 1 from aos.steps where pid = $1 and kind = 'tool' and name = 'recv'",
      [pid],
    );
    expect(whileBlocked.rowCount).toBe(0);

    await kernel.call('send', { pid, message: 'ping' });
    await kernel.call('send', { pid, message: 'pong' });
    const done = await kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, result: 'ping' });

    const received = await kernel.db.query<{ status: string; output: unknown }>(
      "select status, output -> 'output' as output from aos.steps where pid = $1 and kind = 'tool' and name = 'recv'",
      [pid],
    );
    expect(received.rows).toEqual([{ status: 'done', output: { from: null, message: 'ping' } }]);
    const mailbox = await kernel.db.query<{ body: string; received: boolean }>(
      'select body, received_at is not null as received from aos.mailbox where pid = $1 order by id',
      [pid],
    );
    expect(mailbox.rows).toEqual([
      { body: 'ping', received: true },
      { body: 'pong', received: false },
    ]);
    // The mailbox of an exited process is closed.
    const late = await kernel
      .call('send', { pid, message: 'too late' })
      .catch((error: unknown) => error as AosError);
    expect(late).toMatchObject({ code: 'conflict' });
  });

  it('gives up a recv at its timeout, and a recv with a timeout still takes a message in time', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'impatient',
      'tools: [recv, finish]',
      [
        'turns:',
        '  - tool_calls: [{ name: recv, arguments: { timeout: 150ms } }]',
        '  - tool_calls: [{ name: recv, arguments: { timeout: 1m } }]',
        '  - finish: "{{result.0.message}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    // The second recv blocks only once the first one has timed out.
    await eventually('the first recv to time out', async () => {
      const steps = await kernel.db.query<{ output: unknown }>(
        "select output -> 'output' as output from aos.steps where pid = $1 and name = 'recv' order by seq",
        [pid],
      );
      return steps.rows.length === 1 ? steps.rows[0]!.output : undefined;
    }).then((output) => expect(output).toEqual({ timedOut: true }));
    await reaches(kernel, pid, 'waiting', 'message');
    await kernel.call('send', { pid, message: 'in time' });
    expect(await kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'in time',
    });
  });

  it('carries a message from one agent to another, with the sender named', async () => {
    const { kernel, agent } = await start();
    agent(
      'receiver',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "{{result.0.from}} said {{result.0.message}}"\n',
    );
    const sender = agent(
      'sender',
      'tools: [spawn, send, wait, finish]\nagents: [./receiver.md]',
      [
        'turns:',
        '  - tool_calls: [{ name: spawn, arguments: { agent: receiver } }]',
        '  - tool_calls:',
        '      - { name: send, arguments: { pid: "{{result.0.pid}}", message: "hello, child" } }',
        '      - { name: wait, arguments: { pid: "{{result.0.pid}}" } }',
        '      - { name: send, arguments: { pid: 999999, message: "anyone?" } }',
        '  - finish: "{{result.1.result}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: sender });
    const done = await kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, result: `${pid} said hello, child` });
    const [child] = await kernel.call('ps', { all: true, ppid: pid });
    const mailbox = await kernel.db.query<{ sender_pid: number; body: string; received: boolean }>(
      'select sender_pid, body, received_at is not null as received from aos.mailbox where pid = $1',
      [child!.pid],
    );
    expect(mailbox.rows).toEqual([{ sender_pid: pid, body: 'hello, child', received: true }]);
    // A send to no such process is an error result, and the sender went on.
    const failed = await kernel.db.query<{ output: { content: string; isError?: boolean } }>(
      "select output from aos.steps where pid = $1 and name = 'send' and status = 'failed'",
      [pid],
    );
    // The result is the error envelope, as structured output and as the text the model reads.
    const envelope = {
      error: expect.objectContaining({ code: 'not_found', message: 'no process with pid 999999' }),
    };
    expect(failed.rows.map((row) => row.output)).toEqual([
      expect.objectContaining({ isError: true, output: envelope }),
    ]);
    expect(JSON.parse(failed.rows[0]!.output.content)).toEqual(envelope);
  });

  it('sleeps durably: sleeping with a deadline in the database, which a new worker honours', async () => {
    const test = await start();
    const file = test.agent(
      'dozer',
      'tools: [sleep, finish]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 600ms } }]\n  - finish: "woke up after {{last}}"\n',
    );
    const { pid } = await test.kernel.call('spawn', { agent: file });
    await reaches(test.kernel, pid, 'sleeping', 'sleep');
    const parked = await test.kernel.db.query<{ wake_at: Date; lease_owner: string | null }>(
      'select wake_at, lease_owner from aos.processes where pid = $1',
      [pid],
    );
    expect(parked.rows[0]!.wake_at).not.toBeNull();
    expect(parked.rows[0]!.lease_owner).toBeNull();
    // The worker goes away while the process sleeps; a new one finishes it.
    await test.worker.stop(1000);
    expect(await stateOf(test.kernel, pid)).toBe('sleeping');
    await test.startWorker();
    const done = await test.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, result: 'woke up after slept' });
    const sleeps = await test.kernel.db.query<{ output: unknown; finished_at: Date }>(
      "select output ->> 'content' as output, finished_at from aos.steps where pid = $1 and name = 'sleep'",
      [pid],
    );
    expect(sleeps.rows).toHaveLength(1);
    expect(sleeps.rows[0]!.output).toBe('slept');
    // It did not wake before its deadline.
    expect(new Date(sleeps.rows[0]!.finished_at).getTime()).toBeGreaterThanOrEqual(
      new Date(parked.rows[0]!.wake_at).getTime(),
    );
  });

  it('parks a parent waiting for its child in waiting/child, and wakes it when the child exits', async () => {
    const { kernel, agent } = await start();
    agent(
      'napper',
      'tools: [sleep, finish]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 300ms } }]\n  - finish: rested\n',
    );
    const file = agent(
      'patient',
      'tools: [spawn, wait, finish]\nagents: [./napper.md]',
      [
        'turns:',
        '  - tool_calls: [{ name: spawn, arguments: { agent: napper } }]',
        '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]',
        '  - finish: "{{result.0.result}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    await eventually('the parent to wait for its sleeping child', async () => {
      const processes = await kernel.call('ps', {});
      const napper = processes.find((row) => row.ppid === pid);
      const parent = processes.find((row) => row.pid === pid);
      return napper?.state === 'sleeping' && parent?.state === 'waiting' && parent.waitReason === 'child'
        ? true
        : undefined;
    });
    const done = await kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, result: 'rested' });
    const waits = await kernel.db.query<{ output: { exitStatus: number; result: string } }>(
      "select output -> 'output' as output from aos.steps where pid = $1 and name = 'wait'",
      [pid],
    );
    expect(waits.rows).toHaveLength(1);
    expect(waits.rows[0]!.output).toMatchObject({ exitStatus: 0, result: 'rested' });
  });

  it('answers a wait for a process that is not a child with an error result, instead of hanging', async () => {
    const { kernel, agent } = await start();
    agent(
      'follower',
      'tools: [recv, wait, finish]',
      [
        'turns:',
        '  - tool_calls: [{ name: recv }]',
        '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.from}}" } }]',
        '  - finish: "{{last}}"',
        '',
      ].join('\n'),
    );
    const leader = agent(
      'leader',
      'tools: [spawn, send, wait, finish]\nagents: [./follower.md]',
      [
        'turns:',
        '  - tool_calls: [{ name: spawn, arguments: { agent: follower } }]',
        '  - tool_calls:',
        '      - { name: send, arguments: { pid: "{{result.0.pid}}", message: "wait for me" } }',
        '      - { name: wait, arguments: { pid: "{{result.0.pid}}" } }',
        '  - finish: "{{result.1.result}}"',
        '',
      ].join('\n'),
    );
    // The follower waits for its parent, which waits for the follower: only an error result breaks the cycle.
    const { pid } = await kernel.call('spawn', { agent: leader });
    const done = await kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0 });
    expect(JSON.parse(done.result as string).error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(new RegExp(`^process ${pid} is not a child of this process`)),
    });
  });
});
