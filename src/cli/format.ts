/** Text output for people: the process table and a process's outcome. */
import type { Process } from '../process/process-table.js';

/** Processes as an aligned table. */
export function formatProcessTable(processes: Process[]): string {
  if (processes.length === 0) return 'no processes';
  const header = ['PID', 'PPID', 'AGENT', 'STATE', 'STEPS', 'TOKENS', 'STATUS', 'DETAIL'];
  const rows = processes.map((process) => [
    String(process.pid),
    process.ppid === null ? '-' : String(process.ppid),
    process.agent,
    process.state,
    String(process.steps),
    String(process.tokens),
    process.exitStatus === null ? '-' : String(process.exitStatus),
    detailOf(process),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  return [header, ...rows]
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n');
}

function detailOf(process: Process): string {
  if (process.state === 'running') return `on ${process.worker ?? '?'}`;
  if (process.state === 'waiting' || process.state === 'sleeping') return process.waitReason ?? '';
  if (process.error !== null) return process.error.message;
  if (process.state === 'exited') return shorten(resultText(process.result), 60);
  return '';
}

/** A result as text: strings as they are, anything else as JSON. */
export function resultText(result: unknown): string {
  if (typeof result === 'string') return result;
  return result === null || result === undefined ? '' : JSON.stringify(result);
}

function shorten(text: string, length: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= length ? line : `${line.slice(0, length - 1)}…`;
}

/** A finished process for people: its result, or what went wrong. */
export function formatOutcome(process: Process): string {
  if (process.state !== 'exited') return `process ${process.pid} is ${process.state}`;
  if (process.exitStatus === 0) return resultText(process.result);
  const reason = process.error?.message ?? resultText(process.result);
  return `process ${process.pid} exited with status ${process.exitStatus}${reason === '' ? '' : `: ${reason}`}`;
}
