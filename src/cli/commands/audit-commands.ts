/** audit export: a CLI-only command (it streams the log to stdout); the other audit commands are faces of syscalls. */
import { z } from 'zod';
import { auditEntrySchema, auditFilterSchema } from '../../syscalls/audit.js';
import { drainAudit, listAudit } from '../../trust/audit.js';
import { defineCommand } from '../command.js';

export const auditExportCommand = defineCommand({
  name: 'audit export',
  summary: 'Write audit entries as JSON lines on stdout (filters as for audit show; no limit by default)',
  input: auditFilterSchema.extend({
    limit: z.coerce.number().int().positive().optional().describe('at most this many entries (default: all)'),
  }),
  positional: [],
  output: z.object({ exported: z.number().int() }),
  errors: ['invalid_input'],
  examples: ['aos audit export > audit.jsonl', 'aos audit export --pid 12'],
  streams: true,
  async run(context, input) {
    const kernel = await context.kernel();
    await drainAudit(kernel.db);
    let exported = 0;
    let afterId = 0;
    for (;;) {
      const remaining = input.limit === undefined ? 10_000 : Math.min(10_000, input.limit - exported);
      if (remaining <= 0) break;
      const page = await listAudit(kernel.db, { ...input, afterId, limit: remaining });
      for (const entry of page) process.stdout.write(`${JSON.stringify(auditEntrySchema.parse(entry))}\n`);
      exported += page.length;
      if (page.length < remaining) break;
      afterId = page.at(-1)!.id;
    }
    return { exported };
  },
  format: () => '',
});
