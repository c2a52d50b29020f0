/** kill: send a signal to a process. */
import { z } from 'zod';
import { sendSignal, signalNames } from '../process/signals.js';
import { pidSchema, processStateSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

export const killSyscall = defineSyscall({
  name: 'kill',
  summary: 'Send a signal to a process: TERM (default), KILL, STOP, CONT, INT, XCPU',
  input: z
    .object({
      pid: pidSchema.describe('the process'),
      signal: z
        .string()
        .transform((value) => value.toUpperCase().replace(/^SIG/, ''))
        .pipe(z.enum(signalNames))
        .default('TERM')
        .describe('signal name'),
    })
    .strict(),
  output: z.object({ pid: z.number().int(), signal: z.string(), state: processStateSchema }),
  cli: {
    positional: ['pid', 'signal'],
    examples: ['aos kill 12', 'aos kill 12 KILL', 'aos kill 12 --signal STOP --json'],
  },
  sql: 'aos.kill',
  capability: 'process.signal',
  errors: ['invalid_input', 'not_found', 'conflict'],
  async handler(context, input) {
    const state = await sendSignal(context.db, input.pid, input.signal);
    context.poke();
    return { pid: input.pid, signal: input.signal, state };
  },
});
