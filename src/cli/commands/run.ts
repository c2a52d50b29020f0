/** run: spawn a process and, unless --detach, run it here until it exits. */
import { z } from 'zod';
import { processSchema } from '../../syscalls/schemas.js';
import { spawnSyscall } from '../../syscalls/spawn.js';
import { defineCommand } from '../command.js';
import { formatOutcome } from '../format.js';

export const runCommand = defineCommand({
  name: 'run',
  handlesInterruption: true,
  summary:
    'Run an agent: spawn a process from an agent file (or registered name) and run it here until it exits, or --detach',
  input: spawnSyscall.input.omit({ ppid: true }).extend({
    detach: z.boolean().default(false).describe('print the new process and return; a worker runs it'),
    concurrency: z.coerce
      .number()
      .int()
      .positive()
      .default(4)
      .describe('processes the local worker runs at once'),
  }),
  positional: ['agent', 'input'],
  output: processSchema,
  errors: ['invalid_input', 'not_found', 'forbidden'],
  examples: [
    'aos run examples/hello/hello.md "Ada"',
    'aos run hello "Ada" --json',
    'aos run agents/researcher.md "topic" --detach --max-steps 50',
  ],
  async run(context, input) {
    const { detach, concurrency, ...spawn } = input;
    const kernel = await context.kernel();
    const process = await kernel.call('spawn', spawn);
    if (detach) return process;
    context.say(`process ${process.pid} (${process.agent}) started`);
    const worker = kernel.createWorker({ concurrency });
    await worker.start();
    const onInterrupt = () =>
      context.say(
        `stopping: process ${process.pid} stays in the process table and resumes where it was with: aos worker`,
      );
    context.interrupted.addEventListener('abort', onInterrupt, { once: true });
    try {
      const waited = kernel.call('wait', { pid: process.pid });
      const interrupted = new Promise<undefined>((resolve) =>
        context.interrupted.addEventListener('abort', () => resolve(undefined), { once: true }),
      );
      const finished = await Promise.race([waited, interrupted]);
      if (finished !== undefined) return finished;
      const [current] = await kernel
        .call('ps', { all: true })
        .then((all) => all.filter((p) => p.pid === process.pid));
      return current ?? process;
    } finally {
      await worker.stop();
    }
  },
  format: formatOutcome,
  exitCode: (process) => (process.state === 'exited' ? Math.min(process.exitStatus ?? 0, 255) : 0),
});
