/**
 * The programs of bench/chaos, imported by path by the `aos worker` processes. Every step
 * body records one row in chaos_effects (pid, step name, the worker's OS pid, start and
 * end times) through its own pool at AOS_CHAOS_DATABASE_URL, so the harness can tell
 * which bodies ran again, and whether after their step was journaled as done.
 */
import pg from 'pg';
import { defineProgram, type ProgramContext } from '../../src/index.js';
import { branchLetter, childInputs, parseInput, stepValue } from './spec.js';

let pool: pg.Pool | undefined;

function database(): pg.Pool {
  pool ??= new pg.Pool({ connectionString: process.env.AOS_CHAOS_DATABASE_URL, max: 6 });
  return pool;
}

/** A random latency in [min, max) ms, inside a step body (never between operations). */
function latency(min: number, max: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, min + Math.random() * (max - min)));
}

/** A step whose body records its run in chaos_effects, waits 20 to 250 ms, and returns `value`. */
function recordedStep<T>(ctx: ProgramContext, name: string, value: T): Promise<T> {
  return ctx.step(name, async () => {
    const started = await database().query<{ id: string }>(
      'insert into chaos_effects (pid, name, worker) values ($1, $2, $3) returning id',
      [ctx.pid, name, process.pid],
    );
    await latency(20, 250);
    await database().query('update chaos_effects set finished_at = clock_timestamp() where id = $1', [
      started.rows[0]!.id,
    ]);
    return value;
  });
}

/** Steps in a row. */
export const sequence = defineProgram('chaos-sequence', async (ctx, text) => {
  const input = parseInput(text);
  let total = 0;
  for (let index = 0; index < input.steps; index++) {
    total += await recordedStep(ctx, `s${index}`, stepValue(index));
  }
  return `${input.tag}:${total}`;
});

/** `width` branches of `steps` steps each, in one Promise.all. */
async function branches(ctx: ProgramContext, width: number, steps: number): Promise<string[]> {
  const branch = async (index: number) => {
    const letter = branchLetter(index);
    let text = '';
    for (let step = 0; step < steps; step++) text += await recordedStep(ctx, `${letter}${step}`, letter);
    return text;
  };
  return Promise.all(Array.from({ length: width }, (_, index) => branch(index)));
}

/** Parallel branches of steps with random latencies. */
export const parallel = defineProgram('chaos-parallel', async (ctx, text) => {
  const input = parseInput(text);
  return `${input.tag}:${(await branches(ctx, input.width, input.steps)).join('-')}`;
});

/** A step, a durable sleep, a step, a shorter sleep, a step. */
export const sleeper = defineProgram('chaos-sleeper', async (ctx, text) => {
  const input = parseInput(text);
  const x = await recordedStep(ctx, 'x', 'x');
  await ctx.sleep(`${input.sleepMs}ms`);
  const y = await recordedStep(ctx, 'y', 'y');
  await ctx.sleep(`${Math.round(input.sleepMs / 2)}ms`);
  const z = await recordedStep(ctx, 'z', 'z');
  return `${input.tag}:${x}${y}${z}`;
});

/** A child of chaos-parent: two parallel branches. */
export const child = defineProgram('chaos-child', async (ctx, text) => {
  const input = parseInput(text);
  return `${input.tag}:${(await branches(ctx, input.width, input.steps)).join('-')}`;
});

/** Spawns `width` children, waits for all of them, and returns their results. */
export const parent = defineProgram(
  'chaos-parent',
  async (ctx, text) => {
    const input = parseInput(text);
    await recordedStep(ctx, 'plan', true);
    const pids = await Promise.all(
      childInputs(input).map((childInput) => ctx.spawn('chaos-child', JSON.stringify(childInput))),
    );
    const outcomes = await Promise.all(pids.map((pid) => ctx.wait(pid)));
    const children = outcomes.map((outcome) =>
      outcome.exitStatus === 0 ? String(outcome.result) : `failed ${outcome.exitStatus}`,
    );
    await recordedStep(ctx, 'combine', true);
    return { tag: input.tag, children };
  },
  { agents: ['chaos-child'] },
);

/** Receives `count` messages and returns them as "sender:body", sorted. */
export const collector = defineProgram('chaos-collector', async (ctx, text) => {
  const input = parseInput(text);
  const received: string[] = [];
  for (let index = 0; index < input.count; index++) {
    const message = await ctx.recv();
    if (message !== null) received.push(`${message.from}:${message.message}`);
  }
  return received.sort();
});
