/**
 * The CLI face's text for people, per syscall: how `aos NAME` prints a syscall's output
 * without --json, and the exit code of a successful run where it is not 0. The command
 * list itself comes from the syscall table (commands.ts).
 */
import { formatBytes } from '../fs/content.js';
import { formatContext } from '../process/inspect.js';
import type { SyscallOutput } from '../syscalls/dispatch.js';
import type { SyscallName } from '../syscalls/table.js';
import { formatTrace, type Trace } from '../trust/trace.js';
import { formatOutcome, formatProcessTable } from './format.js';

/** How one syscall's output reads on a terminal. */
export interface TextFace<Output> {
  format(output: Output): string;
  exitCode?(output: Output): number;
}

/** "1 file", "2 files". */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Rows of cells as aligned columns. */
export function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n');
}

/** Text on one line, cut at `length`. */
export function oneLine(text: string, length: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= length ? line : `${line.slice(0, length - 1)}…`;
}

type TextFaces = { [Name in SyscallName]?: TextFace<SyscallOutput<Name>> };

export const textFaces: TextFaces = {
  spawn: {
    format: (process) =>
      `process ${process.pid} (${process.agent}) spawned; a worker runs it: aos wait ${process.pid}`,
  },
  ps: { format: (processes) => formatProcessTable(processes) },
  kill: { format: (output) => `sent ${output.signal} to process ${output.pid}; it is ${output.state}` },
  wait: { format: formatOutcome, exitCode: (process) => Math.min(process.exitStatus ?? 0, 255) },
  send: { format: (output) => `message ${output.messageId} sent to process ${output.pid}` },
  trace: {
    format: (trace) => {
      const text = formatTrace(trace as Trace);
      const { exported } = trace;
      return exported === undefined
        ? text
        : `${text}\nsent ${exported.spans} spans to ${exported.endpoint} (trace ${exported.traceId})`;
    },
  },
  context: { format: (view) => formatContext(view as never) },
  pages: {
    format: (pages) =>
      pages.length === 0
        ? 'no pages: nothing was paged out of this context'
        : pages
            .map(
              (page) =>
                `${page.id.padEnd(5)} operations ${page.fromOp}-${page.toOp}, ${page.messages} messages, ${page.tokens} tokens: ${page.summary}`,
            )
            .join('\n'),
  },
  recall: {
    format: (results) =>
      results.length === 0
        ? 'nothing found'
        : results
            .map(
              (result) =>
                `── ${result.namespace} ${result.id} (${result.kind}${result.score === null ? '' : `, score ${result.score.toFixed(3)}`}) ──\n${result.text}`,
            )
            .join('\n'),
  },
  replay: {
    format: (report) =>
      report.identical
        ? `process ${report.pid} replays identically: ${report.operations} operations, ${report.modelCalls} model calls (${report.requestsCompared} requests rebuilt byte for byte), the same exit status and result`
        : `process ${report.pid} does NOT replay identically:\n${report.differences.map((difference) => `  ${difference.op === null ? 'end' : `operation ${difference.op}`}: ${difference.what}`).join('\n')}`,
    exitCode: (report) => (report.identical ? 0 : 5),
  },
  fork: {
    format: (process) =>
      `process ${process.pid} forked (${process.agent}); a worker runs it: aos wait ${process.pid}`,
  },
  approvals: {
    format: (approvals) =>
      approvals.length === 0
        ? 'no approvals waiting'
        : approvals
            .map(
              (approval) =>
                `${String(approval.id).padStart(5)}  process ${approval.pid}  ${approval.decision ?? 'waiting'}  ${approval.question}`,
            )
            .join('\n'),
  },
  approve: {
    format: (approval) => `approved ${approval.id} of process ${approval.pid}: ${approval.question}`,
  },
  deny: {
    format: (approval) =>
      `denied ${approval.id} of process ${approval.pid}: ${approval.question}${approval.reason === null ? '' : ` (${approval.reason})`}`,
  },
  'audit show': {
    format: (entries) =>
      entries.length === 0
        ? 'no audit entries'
        : entries
            .map(
              (entry) =>
                `${String(entry.id).padStart(6)}  ${entry.at}  ${entry.kind.padEnd(18)} ${entry.pid ?? '-'}  ${entry.actor}  ${JSON.stringify(entry.data)}`,
            )
            .join('\n'),
  },
  'audit verify': {
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
  },
  'audit checkpoint': {
    format: (checkpoint) =>
      checkpoint === null
        ? 'the audit log is empty: nothing to sign'
        : `signed entry ${checkpoint.id} (${checkpoint.hash.slice(0, 16)}…) at ${checkpoint.at}`,
  },
  'fs ls': {
    format: (entries) =>
      entries.length === 0
        ? '(empty)'
        : columns([
            ['TYPE', 'KIND', 'VERSION', 'SIZE', 'UPDATED', 'PATH'],
            ...entries.map((entry) =>
              entry.type === 'directory'
                ? [
                    'dir',
                    '-',
                    '-',
                    `${plural(entry.files, 'file')}, ${formatBytes(entry.size)}`,
                    entry.updatedAt,
                    `${entry.path}/`,
                  ]
                : [
                    'file',
                    entry.kind ?? '-',
                    String(entry.version),
                    formatBytes(entry.size),
                    entry.updatedAt,
                    entry.path,
                  ],
            ),
          ]),
  },
  'fs rm': {
    format: (file) =>
      `removed ${file.path} (version ${file.version} is the removal; earlier versions stay: aos fs history --ns ${file.namespace} ${file.path})`,
  },
  'fs history': {
    format: (versions) =>
      columns([
        ['VERSION', 'KIND', 'SIZE', 'AUTHOR', 'CREATED', 'SHA256'],
        ...versions.map((each) => [
          String(each.version),
          each.kind,
          each.kind === 'removed' ? '-' : formatBytes(each.size),
          each.authorPid === null ? 'user' : `process ${each.authorPid}`,
          each.createdAt,
          each.sha256 === null ? '-' : each.sha256.slice(0, 16),
        ]),
      ]),
  },
  'fs grep': {
    format: (found) =>
      found.matches.length === 0
        ? 'no matches'
        : [
            ...found.matches.map((match) => `${match.path}:${match.line}: ${match.text}`),
            ...(found.truncated
              ? ['(more matches: raise --max-matches, or narrow the path or the pattern)']
              : []),
          ].join('\n'),
  },
  'fs diff': {
    format: (compared) =>
      compared.identical
        ? `versions ${compared.from?.version ?? 0} and ${compared.to.version} of ${compared.path} are identical`
        : compared.diff.replace(/\n$/, ''),
  },
  'mem add': { format: (memory) => `remembered ${memory.namespace} ${memory.id}` },
  'mem get': {
    format: (memory) => {
      const place = memory.thread === null ? '' : `  ${memory.thread}#${memory.seq ?? '-'}`;
      return `${memory.namespace} ${memory.id} [${memory.kind}] ${memory.time}${place}\n${memory.text}`;
    },
  },
  'mem ls': {
    format: (memories) =>
      memories.length === 0
        ? 'no memories'
        : memories
            .map(
              (memory) =>
                `${memory.namespace}  ${memory.id}  ${memory.kind.padEnd(9)} ${memory.time}  ${oneLine(memory.text, 80)}`,
            )
            .join('\n'),
  },
  'mem forget': { format: (output) => `forgot ${output.namespace} ${output.id}` },
};
