/**
 * Text output for people: the process table, a process's outcome, and `printable`,
 * through which every line printed for people in text mode goes.
 */
import type { Process } from '../process/process-table.js';

// C0 controls but tab and newline, DEL, C1 controls; bidi embeddings, overrides, isolates and marks;
// line and paragraph separators. Agents write most of what is printed: these could rewrite the screen.
const unprintable =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text made safe for a terminal: each control character (ESC, \r, C1, ...) and each bidi
 * control becomes a visible escape (`\x1b`, `\r`, `\u{202e}`); tab and newline stay.
 * `--json` output never goes through it.
 */
export function printable(text: string): string {
  return text.replace(unprintable, (character) => {
    const code = character.codePointAt(0)!;
    if (character === '\r') return '\\r';
    if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
    return `\\u{${code.toString(16)}}`;
  });
}

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
