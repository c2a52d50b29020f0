/**
 * Issue 11, finding 2: a worker paused past its lease does not start work it no longer
 * owns. Worker A stops itself (SIGSTOP) right after the journal write of step c1, before
 * its program sees the answer. Worker B takes the process over when the lease runs out,
 * runs c2 and c3 and the process exits. Then A is resumed (SIGCONT): it must not run
 * c2's body again (fencing alone only refuses its write, after the side effect). Server only.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasServer } from '../support/databases.js';
import { sleep } from '../support/faulty-db.js';
import { eventually } from '../support/kernel.js';
import { serverKernel, startFaultyWorker } from '../support/worker-processes.js';
import { crashStepsTable } from './recorded-programs.js';

if (!hasServer) {
  console.warn('SKIPPED: test/crash/paused-worker needs a PostgreSQL server: set AOS_TEST_DATABASE_URL');
}

const leaseMs = 1000;
const programsModule = new URL('./recorded-programs.ts', import.meta.url).pathname;

/** Whether OS process `pid` is stopped (Linux: state T in /proc/PID/stat). */
function isStopped(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

describe.skipIf(!hasServer)('a worker paused past its lease', () => {
  const server = serverKernel((k) => k.db.query(crashStepsTable));

  it('does not run a step another worker journaled meanwhile once it resumes', async () => {
    const { kernel, url, workers } = server;
    await kernel.register(programsModule);
    const paused = await startFaultyWorker(url, { leaseMs, mode: 'stop-after:c1', concurrency: 1 });
    workers.push(paused);
    const { pid } = await kernel.call('spawn', { agent: 'three-steps', input: 'x' });
    await eventually('worker A to stop itself after journaling c1', async () =>
      isStopped(paused.child.pid!) ? true : undefined,
    );
    await eventually('the lease of worker A to run out', async () => {
      const row = await kernel.db.query(
        'select 1 from aos.processes where pid = $1 and lease_expires_at < now()',
        [pid],
      );
      return row.rowCount === 1 ? true : undefined;
    });
    const takeover = await startFaultyWorker(url, { leaseMs, mode: 'plain', concurrency: 1 });
    workers.push(takeover);
    expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({
      exitStatus: 0,
      result: 'x:c1,c2,c3',
    });

    paused.child.kill('SIGCONT');
    // Give the resumed worker time to go on with its program as far as it would.
    await sleep(3000);
    const runs = await kernel.db.query<{ name: string; os_pid: number }>(
      'select name, os_pid from crash_steps where pid = $1 order by id',
      [pid],
    );
    const byWorker = (osPid: number) => (osPid === paused.child.pid ? 'A (paused)' : 'B (takeover)');
    expect(runs.rows.map((row) => `${row.name} by ${byWorker(row.os_pid)}`)).toEqual([
      'c1 by A (paused)',
      'c2 by B (takeover)',
      'c3 by B (takeover)',
    ]);
  }, 60_000);
});
