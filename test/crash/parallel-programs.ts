/**
 * A deterministic program for the parallel-order tests: BRANCHES branches run in
 * Promise.all, each a chain of STEPS ctx.steps whose bodies take the same MS
 * milliseconds, so the branches' journal writes are sent at about the same moment and
 * a database that answers them out of order shows whether replay keeps the order the
 * program saw. Input: "BRANCHES x STEPS x MS" (e.g. "4x6x10").
 */
import { defineProgram } from '../../src/index.js';

/** What a process of `parallelBranches` returns for `input`, computed without running it. */
export function expectedBranchesResult(input: string): string {
  const [branches, steps] = input.split('x').map(Number) as [number, number, number];
  return Array.from({ length: branches }, (_, branch) =>
    Array.from({ length: steps }, (_, step) => `b${branch}.${step}`).join(','),
  ).join('|');
}

export const parallelBranches = defineProgram('parallel-branches', async (ctx, input) => {
  const [branches, steps, ms] = input.split('x').map(Number) as [number, number, number];
  const branch = async (index: number) => {
    const seen: string[] = [];
    for (let step = 0; step < steps; step++) {
      const name = `b${index}.${step}`;
      seen.push(
        await ctx.step(name, async () => {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return name;
        }),
      );
    }
    return seen.join(',');
  };
  const results = await Promise.all(Array.from({ length: branches }, (_, index) => branch(index)));
  return results.join('|');
});
