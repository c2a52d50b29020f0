/**
 * Programs for the program crash tests. Every step body writes one row to crash_steps
 * (pid, step name, clock time) before it returns, so a test can tell whether a step that
 * was journaled as done ever ran again afterwards. The database comes from
 * AOS_CRASH_DATABASE_URL, which the test sets for its worker processes.
 */
import pg from 'pg';
import { defineProgram, type ProgramContext } from '../../src/index.js';

let pool: pg.Pool | undefined;

function database(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: process.env.AOS_CRASH_DATABASE_URL, max: 4 });
  return pool;
}

/** A step that records that its body ran, waits `ms`, and returns `value`. */
function recordedStep<T>(ctx: ProgramContext, name: string, ms: number, value: T): Promise<T> {
  return ctx.step(name, async () => {
    await database().query('insert into crash_steps (pid, name) values ($1, $2)', [ctx.pid, name]);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return value;
  });
}

/** 20 steps in a row, with a pause between them outside any step (a kill can land inside a step or between two). */
export const sequence = defineProgram('crash-sequence', async (ctx, input) => {
  let total = 0;
  for (let index = 0; index < 20; index++) {
    total += await recordedStep(ctx, `s${index}`, 150, index);
    // Long enough that a test polling a loaded machine can catch a process between two steps.
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return `${input}:${total}`;
});

/** Three branches of four steps each, in parallel, with different paces. */
export const parallel = defineProgram('crash-parallel', async (ctx, input) => {
  const branch = async (name: string, ms: number) => {
    let text = '';
    for (let index = 0; index < 4; index++) text += await recordedStep(ctx, `${name}${index}`, ms, name);
    return text;
  };
  const results = await Promise.all([branch('a', 400), branch('b', 150), branch('c', 250)]);
  return `${input}:${results.join('-')}`;
});

/** A step, a durable sleep, a step. */
export const sleeper = defineProgram('crash-sleeper', async (ctx, input) => {
  const before = await recordedStep(ctx, 'before', 50, 'x');
  await ctx.sleep('2500ms');
  const after = await recordedStep(ctx, 'after', 50, 'y');
  return `${input}:${before}${after}`;
});

/** A step, then waits for a message, then a step with the message. */
export const receiver = defineProgram('crash-receiver', async (ctx, input) => {
  await recordedStep(ctx, 'ready', 50, true);
  const message = await ctx.recv();
  return `${input}:${await recordedStep(ctx, 'got', 50, message?.message ?? 'nothing')}`;
});
