/**
 * A supervisor that restarts a failing child: it runs `flaky` (which fails until its
 * third attempt), waits for it, and on failure starts it again after a durable back-off,
 * up to five attempts. Each attempt is a process of its own, with its own journal.
 *
 *   npx aos run examples/supervisor/supervisor.ts 3      # succeed on attempt 3
 */
import { defineProgram } from '../../src/index.js';

/** A child that fails until attempt `failUntil`. */
export const flaky = defineProgram('flaky', async (ctx, input) => {
  const { attempt, failUntil } = JSON.parse(input) as { attempt: number; failUntil: number };
  await ctx.step('work', () => {
    if (attempt < failUntil) throw new Error(`attempt ${attempt} failed`);
    return 'done';
  });
  return `succeeded on attempt ${attempt}`;
});

export default defineProgram(
  'supervisor',
  async (ctx, input) => {
    const failUntil = Number(input || 3);
    const failures: string[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      const pid = await ctx.spawn('flaky', JSON.stringify({ attempt, failUntil }));
      const outcome = await ctx.wait(pid);
      if (outcome.exitStatus === 0) return { attempts: attempt, result: outcome.result, failures };
      failures.push(`${pid}: ${outcome.error?.message ?? `exit ${outcome.exitStatus}`}`);
      await ctx.sleep(`${50 * 2 ** attempt}ms`);
    }
    throw new Error(`flaky failed five times: ${failures.join('; ')}`);
  },
  { description: 'Restarts a failing child with back-off, up to five attempts' },
);
