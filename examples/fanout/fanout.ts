/**
 * A fan-out research program: plan the angles of a topic, start one researcher agent
 * per angle, wait for all of them in parallel, and combine their findings. Kill the
 * worker at any point: on resume the plan is not made again, no researcher is started
 * twice, and the program waits for the ones already running.
 *
 *   npx aos run examples/fanout/fanout.ts "solid-state batteries"
 */
import { defineProgram } from '../../src/index.js';

export default defineProgram(
  'fanout',
  async (ctx, topic) => {
    const angles = await ctx.step('plan', () =>
      ['history', 'state of the art', 'open problems'].map((angle) => `${topic || 'the topic'}: ${angle}`),
    );
    const pids = await Promise.all(angles.map((angle) => ctx.spawn('fanout-researcher', angle)));
    const outcomes = await Promise.all(pids.map((pid) => ctx.wait(pid)));
    const failed = outcomes.filter((outcome) => outcome.exitStatus !== 0);
    if (failed.length > 0)
      throw new Error(`${failed.length} researchers failed: ${failed.map((o) => o.pid).join(', ')}`);
    return ctx.step('combine', () => ({
      topic,
      findings: outcomes.map((outcome) => String(outcome.result)),
    }));
  },
  { description: 'Researches a topic from several angles at once', agents: ['./researcher.md'] },
);
