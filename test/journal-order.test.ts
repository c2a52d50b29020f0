/**
 * The journal order of parallel operations, on PGlite and the server: journal writes
 * that complete out of the order they were sent (a Db that delays each answer at random)
 * still leave a journal that replays exactly as the program ran, and a second worker
 * that takes over from the journal finishes the program instead of stopping it as
 * diverged (decision 0006).
 */
import { describe, expect, it } from 'vitest';
import { createKernel } from '../src/kernel.js';
import { defineProgram } from '../src/process/program.js';
import type { Db, Queryable } from '../src/storage/db.js';
import { testDatabases } from './support/databases.js';

/** A Db whose answers arrive after a random delay of up to `maxMs`, so parallel writes finish out of order. */
function jittery(db: Db, maxMs: number): Db {
  const late = <T>(answer: Promise<T>): Promise<T> =>
    answer.then((value) => new Promise((resolve) => setTimeout(() => resolve(value), Math.random() * maxMs)));
  const wrap = (target: Queryable): Queryable => ({
    query: (sql, params, options) => late(target.query(sql, params, options)),
    exec: (sql) => target.exec(sql),
  });
  return {
    ...db,
    ...wrap(db),
    kind: db.kind,
    location: db.location,
    deliversNotifications: db.deliversNotifications,
    transaction: (work) => late(db.transaction((tx) => work(wrap(tx)))),
    listen: (channel, onNotify) => db.listen(channel, onNotify),
    close: () => db.close(),
  };
}

/** Four branches of five steps each, with a sleep after the third step of every branch. */
const branches = defineProgram('order-branches', async (ctx, input) => {
  const branch = async (name: string) => {
    let text = '';
    for (let index = 0; index < 5; index++) {
      text += await ctx.step(`${name}.${index}`, () => `${name}${index}`);
      if (index === 2) await ctx.sleep(1);
    }
    return text;
  };
  const parts = await Promise.all(['b1', 'b2', 'b3', 'b4'].map(branch));
  return `${input}:${parts.join('|')}`;
});

const expected = (input: string) =>
  `${input}:${['b1', 'b2', 'b3', 'b4'].map((name) => [0, 1, 2, 3, 4].map((index) => `${name}${index}`).join('')).join('|')}`;

describe.each(testDatabases)('journal order of parallel operations on $name', (database) => {
  it('replays parallel branches whose journal writes completed out of order exactly as they ran', async () => {
    const created = await database.create();
    const kernel = await createKernel({ db: jittery(created.db, 8), programs: [branches] });
    const worker = kernel.createWorker({ concurrency: 8, leaseMs: 5000, pollMs: 20, quantumMs: 60_000 });
    await worker.start();
    try {
      const pids: number[] = [];
      for (let index = 0; index < 6; index++) {
        pids.push((await kernel.call('spawn', { agent: 'order-branches', input: `p${index}` })).pid);
      }
      for (const [index, pid] of pids.entries()) {
        const done = await kernel.call('wait', { pid, timeout: '60s' });
        expect(done).toMatchObject({ exitStatus: 0, result: expected(`p${index}`) });
      }
      for (const pid of pids) {
        const replay = await kernel.call('replay', { pid });
        expect({ pid, identical: replay.identical, differences: replay.differences }).toEqual({
          pid,
          identical: true,
          differences: [],
        });
      }
    } finally {
      await worker.stop(1000);
      await created.drop().catch(() => {});
    }
  }, 120_000);
});
