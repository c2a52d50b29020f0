/** audit show, audit verify, audit checkpoint, audit export. */
import { z } from 'zod';
import {
  auditCheckpointSyscall,
  auditEntrySchema,
  auditFilterSchema,
  auditShowSyscall,
  auditVerifySyscall,
} from '../../syscalls/audit.js';
import { drainAudit, listAudit } from '../../trust/audit.js';
import { defineCommand, syscallCommand } from '../command.js';

export const auditShowCommand = syscallCommand(auditShowSyscall, {
  positional: [],
  examples: [
    'aos audit show',
    'aos audit show --pid 12 --kind tool-call',
    'aos audit show --since 2026-11-24T00:00:00Z --json',
  ],
  format: (entries) =>
    entries.length === 0
      ? 'no audit entries'
      : entries
          .map(
            (entry) =>
              `${String(entry.id).padStart(6)}  ${entry.at}  ${entry.kind.padEnd(18)} ${entry.pid ?? '-'}  ${entry.actor}  ${JSON.stringify(entry.data)}`,
          )
          .join('\n'),
});

export const auditVerifyCommand = syscallCommand(auditVerifySyscall, {
  positional: [],
  examples: ['aos audit verify', 'aos audit verify --json'],
  format: (check) =>
    (check.ok && check.covered
      ? `ok: ${check.entries} entries, chain head ${check.head.id} (${check.head.hash.slice(0, 16)}…), ${check.checkpoints.checked} signed checkpoints agree`
      : check.ok
        ? `unverified: ${check.entries} entries hash-chain correctly, but no signed checkpoint covers the head (entry ${check.head.id}; latest checkpoint: ${check.checkpoints.latestId ?? 'none'}), so the entries after it could have been rewritten with fresh hashes\n  hint: aos audit checkpoint`
        : `TAMPERED at entry ${check.firstBad?.id}: ${check.firstBad?.reason}\n(${check.entries} entries before it verify; ${check.checkpoints.checked} checkpoints read)`) +
    (check.unchained === 0
      ? ''
      : `\n${check.unchained} more entries were appended while verifying and are not chained yet: not checked, not yet tamper-evident`) +
    (check.checkpoints.otherDatabases === 0
      ? ''
      : `\n${check.checkpoints.otherDatabases} checkpoints of other databases in the store were ignored`),
  exitCode: (check) => (check.ok ? 0 : 5),
});

export const auditCheckpointCommand = syscallCommand(auditCheckpointSyscall, {
  positional: [],
  examples: ['aos audit checkpoint', 'AOS_AUDIT_CHECKPOINTS=/mnt/worm/aos.jsonl aos audit checkpoint'],
  format: (checkpoint) =>
    checkpoint === null
      ? 'the audit log is empty: nothing to sign'
      : `signed entry ${checkpoint.id} (${checkpoint.hash.slice(0, 16)}…) at ${checkpoint.at}`,
});

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
