/** wait: block until a process exits, then reap it and return its status and result. */
import { z } from 'zod';
import { parseDuration } from '../duration.js';
import { AosError } from '../errors.js';
import { getProcessRow, reapProcess, toProcess } from '../process/process-table.js';
import { pidSchema, processSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

export const waitSyscall = defineSyscall({
  name: 'wait',
  summary: 'Wait for a process to exit; prints its result and exits with its exit status',
  input: z
    .object({
      pid: pidSchema.describe('the process'),
      timeout: z.string().optional().describe('give up after this long, e.g. 30s (error: timeout)'),
    })
    .strict(),
  output: processSchema,
  cli: { positional: ['pid'], examples: ['aos wait 12', 'aos wait 12 --timeout 30s --json'] },
  capability: 'process.wait',
  readOnly: true,
  errors: ['invalid_input', 'not_found', 'conflict', 'timeout'],
  async handler(context, input) {
    const deadline =
      input.timeout === undefined
        ? Number.POSITIVE_INFINITY
        : Date.now() + parseDuration(input.timeout, 'timeout');
    for (;;) {
      const row = await getProcessRow(context.db, input.pid);
      if (row.state === 'exited') {
        await reapProcess(context.db, row.pid);
        return toProcess(row);
      }
      if (row.state === 'stopped' && row.wait_reason === 'diverged') {
        const message =
          (row.wait_detail as { message?: string } | null)?.message ??
          'its program no longer matches its journal';
        throw new AosError('conflict', message, {
          hint: `fix the program and resume it with: aos kill ${row.pid} CONT (or end it: aos kill ${row.pid} KILL)`,
        });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new AosError('timeout', `process ${input.pid} did not exit within ${input.timeout}`, {
          hint: `it is ${row.state}; wait longer, or stop it with: aos kill ${input.pid}`,
        });
      }
      await context.waitForChange(Math.min(remaining, 1000), row.pid);
    }
  },
});
