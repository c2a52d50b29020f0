/**
 * Programs for the deadlock test: they make the row-lock patterns that deadlocked with
 * lease renewals. A `pair-parent` spawns two `pair-member`s, tells each the other's pid,
 * and meanwhile spawns children that exit at once (each exit locks the child's row and
 * then its parent's, while the parent holds a lease that its worker renews). The members
 * then send to each other at the same moment, round after round (each send locks the
 * sender's row, then the receiver's). No Promise.all: replay order is not at stake here.
 */
import { defineProgram } from '../../src/index.js';

/** Rounds of messages each pair exchanges. */
export const pairRounds = 8;
/** Children each parent spawns that exit at once. */
export const quickChildren = 4;

/** What pair-parent returns for `input`, computed without running it. */
export function expectedPairResult(input: string): string {
  const total = (pairRounds * (pairRounds + 1)) / 2;
  return `${input}:${total}+${total}:${quickChildren} quick`;
}

export const quickChild = defineProgram('quick-child', async (_ctx, input) => `quick ${input}`);

export const pairMember = defineProgram('pair-member', async (ctx) => {
  // The partner's first message may come before the parent's "hello:PID": both kinds are handled.
  let partner: number | undefined;
  let sent = 0;
  let received = 0;
  let total = 0;
  while (sent < pairRounds || received < pairRounds) {
    if (partner !== undefined && sent <= received && sent < pairRounds) {
      sent += 1;
      await ctx.send(partner, `round:${sent}`);
      continue;
    }
    const [kind, value] = String((await ctx.recv())?.message).split(':');
    if (kind === 'hello') partner = Number(value);
    else {
      received += 1;
      total += Number(value);
    }
  }
  return total;
});

export const pairParent = defineProgram('pair-parent', async (ctx, input) => {
  const left = await ctx.spawn('pair-member', `${input}-left`);
  const right = await ctx.spawn('pair-member', `${input}-right`);
  const quick: number[] = [];
  for (let index = 0; index < quickChildren; index++)
    quick.push(await ctx.spawn('quick-child', String(index)));
  await ctx.send(left, `hello:${right}`);
  await ctx.send(right, `hello:${left}`);
  let exited = 0;
  for (const pid of quick) {
    const child = await ctx.wait(pid);
    if (child.result === `quick ${quick.indexOf(pid)}`) exited += 1;
  }
  const results: unknown[] = [];
  for (const pid of [left, right]) results.push((await ctx.wait(pid)).result);
  return `${input}:${results.join('+')}:${exited} quick`;
});
