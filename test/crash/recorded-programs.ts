/**
 * Programs whose step bodies leave a trace, for the paused-worker and heartbeat tests: every body
 * writes one row to crash_steps (pid, step name, the OS pid of the worker that ran it)
 * before it returns, so a test can count how often each step really ran and where.
 * The database comes from AOS_CRASH_DATABASE_URL, which the test sets for its workers.
 */
import pg from 'pg';
import { defineProgram, type ProgramContext } from '../../src/index.js';

let pool: pg.Pool | undefined;

function database(): pg.Pool {
  if (pool === undefined) {
    pool = new pg.Pool({ connectionString: process.env.AOS_CRASH_DATABASE_URL, max: 2 });
    // An idle connection ended by the test dropping its database is no failure of the program.
    pool.on('error', () => {});
  }
  return pool;
}

/** Closes the connections the step bodies opened (for a test that ran these programs in its own process). */
export async function closeRecording(): Promise<void> {
  const open = pool;
  pool = undefined;
  await open?.end();
}

/** The side table the step bodies write to. */
export const crashStepsTable =
  'create table crash_steps (id bigserial primary key, pid bigint not null, name text not null, os_pid int not null)';

function recordedStep(ctx: ProgramContext, name: string): Promise<string> {
  return ctx.step(name, async () => {
    await database().query('insert into crash_steps (pid, name, os_pid) values ($1, $2, $3)', [
      ctx.pid,
      name,
      process.pid,
    ]);
    return name;
  });
}

/** Three steps in a row: c1, c2, c3. */
export const threeSteps = defineProgram('three-steps', async (ctx, input) => {
  const done: string[] = [];
  for (const name of ['c1', 'c2', 'c3']) done.push(await recordedStep(ctx, name));
  return `${input}:${done.join(',')}`;
});

/** Messages each burst of mailbox-bursts sends to itself. */
export const burstSize = 5;
/** Bursts per mailbox-bursts process. */
export const bursts = 2;

/** What mailbox-bursts returns for `input`, computed without running it. */
export function expectedBurstsResult(input: string): string {
  return `${input}:${bursts * ((burstSize * (burstSize + 1)) / 2)}`;
}

/**
 * Bursts of transactional operations: a step (r1, r2, ...), then `burstSize` sends to
 * itself in parallel, then as many parallel receives; returns the sum of what it received.
 */
export const mailboxBursts = defineProgram('mailbox-bursts', async (ctx, input) => {
  let total = 0;
  for (let round = 1; round <= bursts; round++) {
    await recordedStep(ctx, `r${round}`);
    const numbers = Array.from({ length: burstSize }, (_, index) => index + 1);
    await Promise.all(numbers.map((number) => ctx.send(ctx.pid, String(number))));
    const received = await Promise.all(numbers.map(() => ctx.recv()));
    for (const message of received) total += Number(message?.message);
  }
  return `${input}:${total}`;
});
