/** The SQL face: aos.spawn, aos.send, aos.kill and the aos.ps view, served by a running worker. */
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import type { Kernel } from '../src/kernel.js';
import { testDatabases } from './support/databases.js';
import { eventually, testKernels } from './support/kernel.js';

interface PsRow {
  pid: number;
  ppid: number | null;
  owner: string;
  agent: string;
  state: string;
  wait_reason: string | null;
  exit_status: number | null;
}

const listener =
  'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: "got {{result.0.message}} for {{input}}"\n';

async function psRow(kernel: Kernel, pid: number): Promise<PsRow | undefined> {
  const view = await kernel.db.query<PsRow>('select * from aos.ps');
  return view.rows.find((row) => row.pid === pid);
}

function untilState(kernel: Kernel, pid: number, state: string): Promise<PsRow> {
  return eventually(`process ${pid} to be ${state} in aos.ps`, async () => {
    const row = await psRow(kernel, pid);
    return row?.state === state ? row : undefined;
  });
}

describe.each(testDatabases)('the SQL face on $name', (database) => {
  const start = testKernels(database);

  /** Registers the agent the way a user does: by spawning it once from its file. */
  async function registered(kernel: Kernel, file: string): Promise<void> {
    const first = await kernel.call('spawn', { agent: file });
    await kernel.call('kill', { pid: first.pid, signal: 'KILL' });
    expect(await kernel.call('wait', { pid: first.pid, timeout: '20s' })).toMatchObject({ exitStatus: 137 });
  }

  it('spawns with aos.spawn, lists with aos.ps, and delivers aos.send to a recv', async () => {
    const { kernel, agent } = await start();
    await registered(kernel, agent('sqlish', 'tools: [recv, finish]', listener));
    const spawned = await kernel.db.query<{ pid: number }>("select aos.spawn('sqlish', 'from psql') as pid");
    const pid = spawned.rows[0]!.pid;
    expect(pid).toBeGreaterThan(0);
    const row = await untilState(kernel, pid, 'waiting');
    const session = await kernel.db.query<{ login: string }>('select session_user::text as login');
    expect(row).toMatchObject({
      pid,
      ppid: null,
      owner: session.rows[0]!.login,
      agent: 'sqlish',
      wait_reason: 'message',
      exit_status: null,
    });
    const sent = await kernel.db.query<{ id: number }>("select aos.send($1, 'hello') as id", [pid]);
    expect(sent.rows[0]!.id).toBeGreaterThan(0);
    expect(await kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
      exitStatus: 0,
      result: 'got hello for from psql',
    });
    // Reaped by wait: the view no longer lists it.
    expect(await psRow(kernel, pid)).toBeUndefined();
  });

  it('kills with aos.kill: a waiting process at once, a running one at its next step', async () => {
    const { kernel, agent } = await start();
    await registered(kernel, agent('victim', 'tools: [recv, finish]', listener));
    await registered(
      kernel,
      agent('busy', 'tools: [finish]', 'turns:\n  - delay_ms: 60000\n    finish: late\n'),
    );
    const waiting = (await kernel.db.query<{ pid: number }>("select aos.spawn('victim') as pid")).rows[0]!
      .pid;
    const busy = (await kernel.db.query<{ pid: number }>("select aos.spawn('busy') as pid")).rows[0]!.pid;
    await untilState(kernel, waiting, 'waiting');
    await untilState(kernel, busy, 'running');

    const killed = await kernel.db.query<{ state: string }>("select aos.kill($1, 'KILL') as state", [
      waiting,
    ]);
    expect(killed.rows[0]!.state).toBe('exited');
    const signalled = await kernel.db.query<{ state: string }>("select aos.kill($1, 'SIGKILL') as state", [
      busy,
    ]);
    expect(signalled.rows[0]!.state).toBe('running');
    for (const pid of [waiting, busy]) {
      expect(await kernel.call('wait', { pid, timeout: '20s' })).toMatchObject({
        exitStatus: 137,
        error: { code: 'killed' },
      });
    }
  });

  it('raises errors from SQL that map to AosError codes', async () => {
    const { kernel, agent } = await start();
    await registered(kernel, agent('short', 'tools: [finish]', 'turns:\n  - finish: ok\n'));
    const codeOf = (sql: string, params: unknown[] = []) =>
      kernel.db.query(sql, params).then(
        () => 'ok',
        (error: unknown) => (error instanceof AosError ? error.code : String(error)),
      );
    expect(await codeOf("select aos.spawn('nobody')")).toBe('not_found');
    expect(await codeOf("select aos.kill(999999, 'KILL')")).toBe('not_found');
    expect(await codeOf("select aos.send(999999, 'x')")).toBe('not_found');
    const pid = (await kernel.db.query<{ pid: number }>("select aos.spawn('short') as pid")).rows[0]!.pid;
    expect(await codeOf("select aos.kill($1, 'HUP')", [pid])).toBe('invalid_input');
    await kernel.call('wait', { pid, timeout: '20s' });
    expect(await codeOf("select aos.kill($1, 'TERM')", [pid])).toBe('conflict');
    expect(await codeOf("select aos.send($1, 'x')", [pid])).toBe('conflict');
  });
});
