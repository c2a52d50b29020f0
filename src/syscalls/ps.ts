/** ps: list processes. */
import { z } from 'zod';
import { listProcessRows, toProcess } from '../process/process-table.js';
import { pidSchema, processSchema, processStateSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

export const psSyscall = defineSyscall({
  name: 'ps',
  summary: 'List processes (reaped ones only with --all)',
  input: z
    .object({
      all: z.boolean().default(false).describe('include processes already reaped by wait'),
      ppid: pidSchema.optional().describe('only children of this process'),
      state: processStateSchema.optional().describe('only processes in this state'),
    })
    .strict(),
  output: z.array(processSchema),
  cli: { positional: [], examples: ['aos ps', 'aos ps --all --json', 'aos ps --state waiting'] },
  capability: 'process.list',
  readOnly: true,
  errors: ['invalid_input'],
  async handler(context, input) {
    const rows = await listProcessRows(context.db, {
      all: input.all,
      ...(input.ppid === undefined ? {} : { ppid: input.ppid }),
      ...(input.state === undefined ? {} : { states: [input.state] }),
    });
    return rows.map(toProcess);
  },
});
