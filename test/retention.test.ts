import { afterEach, describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../src/kernel.js';
import { reapExpiredZombies } from '../src/process/lease.js';
import { testDatabases } from './support/databases.js';

describe.each(testDatabases)('zombie retention on $name', (database) => {
  let cleanup: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });

  async function kernelWithExitedProcesses(): Promise<{ kernel: Kernel; pids: number[] }> {
    const created = await database.create();
    const kernel = await createKernel({ db: created.db });
    cleanup = created.drop;
    await kernel.db.query(
      `insert into aos.agents (name, version, digest, definition) values ('z', 1, 'd', '{"name":"z"}')`,
    );
    const pids: number[] = [];
    for (let index = 0; index < 3; index++) {
      const spawned = await kernel.db.query<{ pid: number }>(
        "select aos.spawn_process('z', '', null, 'local', 0, '{}') as pid",
      );
      pids.push(spawned.rows[0]!.pid);
    }
    for (const pid of pids) await kernel.db.query('select aos.exit_process($1, 0, null, null)', [pid]);
    return { kernel, pids };
  }

  it('reaps only exited processes older than the retention', async () => {
    const { kernel, pids } = await kernelWithExitedProcesses();
    await kernel.db.query("update aos.processes set exited_at = now() - interval '2 hours' where pid = $1", [
      pids[0],
    ]);
    expect(await reapExpiredZombies(kernel.db, 3_600_000)).toBe(1);
    const visible = await kernel.call('ps', {});
    expect(visible.map((process) => process.pid).sort()).toEqual([pids[1], pids[2]]);
    const all = await kernel.call('ps', { all: true });
    expect(all).toHaveLength(3);
    expect(await reapExpiredZombies(kernel.db, 3_600_000)).toBe(0);
  });
});
