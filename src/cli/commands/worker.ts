/** worker: run processes from the database until stopped (SIGINT or SIGTERM). */
import { z } from 'zod';
import { parseDuration } from '../../duration.js';
import { defineCommand } from '../command.js';

export const workerCommand = defineCommand({
  name: 'worker',
  handlesInterruption: true,
  summary: 'Run processes: claim runnable ones, run them step by step, until stopped with Ctrl-C or SIGTERM',
  input: z
    .object({
      concurrency: z.coerce.number().int().positive().default(4).describe('processes run at once'),
      lease: z
        .string()
        .default('5s')
        .describe('lease length; a dead worker’s processes are taken over after it'),
      poll: z.string().default('500ms').describe('longest pause between looks for work'),
      quantum: z.string().default('2s').describe('slice length before a process yields to other ready ones'),
      retention: z
        .string()
        .default('7d')
        .describe('exited processes nobody waited for are reaped after this long'),
      checkpointEvery: z
        .string()
        .default('60s')
        .describe('sign an audit checkpoint this often when the log grew ("0" never)'),
      programs: z
        .string()
        .optional()
        .describe('program modules or agent files to register first, comma-separated (also AOS_PROGRAMS)'),
    })
    .strict(),
  positional: [],
  output: z.object({ workerId: z.string(), slices: z.number().int() }),
  errors: ['invalid_input', 'not_found'],
  examples: [
    'aos worker',
    'aos worker --concurrency 16 --lease 10s',
    'aos worker --programs ./planner.ts,./agents/researcher.md',
    'aos worker --json',
  ],
  streams: true,
  async run(context, input) {
    const kernel = await context.kernel();
    const paths = [input.programs, process.env.AOS_PROGRAMS]
      .flatMap((list) => (list ?? '').split(','))
      .map((path) => path.trim())
      .filter((path) => path !== '');
    for (const path of paths) {
      const definition = await kernel.register(path);
      context.say(`registered ${definition.name} from ${path}`);
    }
    let slices = 0;
    const worker = kernel.createWorker({
      concurrency: input.concurrency,
      leaseMs: parseDuration(input.lease, 'lease'),
      pollMs: parseDuration(input.poll, 'poll'),
      quantumMs: parseDuration(input.quantum, 'quantum'),
      retentionMs: parseDuration(input.retention, 'retention'),
      checkpointEveryMs: parseDuration(input.checkpointEvery, 'checkpoint-every'),
      onEvent(event) {
        if (event.type === 'slice-started') slices += 1;
        context.emit(event);
        if (event.type === 'slice-started')
          context.say(`process ${event.pid}: running (lease generation ${event.generation})`);
        if (event.type === 'slice-ended') context.say(`process ${event.pid}: ${event.outcome}`);
        if (event.type === 'error')
          context.say(`error${event.pid === undefined ? '' : ` on process ${event.pid}`}: ${event.message}`);
      },
    });
    await worker.start();
    context.say(
      `worker ${worker.id} on ${kernel.db.location}, concurrency ${input.concurrency}; Ctrl-C stops it`,
    );
    await new Promise<void>((resolve) =>
      context.interrupted.addEventListener('abort', () => resolve(), { once: true }),
    );
    context.say('stopping: finishing current steps and handing processes back');
    await worker.stop();
    return { workerId: worker.id, slices };
  },
  format: (output) => `worker ${output.workerId} stopped after ${output.slices} slices`,
});
