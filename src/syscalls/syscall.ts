/**
 * The shape of a syscall: one kernel operation defined once (name, input and
 * output schemas, the capability it needs, the handler), from which the library
 * API, the CLI, --desc and later HTTP and MCP are derived.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { Kernel } from '../kernel.js';

/** Who makes a call, and what they may do. */
export interface Caller {
  kind: 'user' | 'process';
  pid?: number;
  /** Capability patterns: "process.spawn", "process.*", "*". */
  capabilities: string[];
}

/** The caller for the CLI and the library: the machine's user, with every capability. */
export const localUser: Caller = { kind: 'user', capabilities: ['*'] };

export interface Syscall<Input extends z.ZodType = z.ZodType, Output extends z.ZodType = z.ZodType> {
  name: string;
  summary: string;
  input: Input;
  output: Output;
  /** The capability a caller needs, e.g. "process.signal". */
  capability: string;
  /** Error codes the syscall can return besides `internal` and `unavailable`. */
  errors: ErrorCode[];
  /** Reads only: not written to the audit log (requests that change state are). */
  readOnly?: boolean;
  /** What the audit log records of the input; default the input itself (e.g. a digest instead of a file's content). */
  auditInput?(input: z.output<Input>): unknown;
  handler(kernel: Kernel, input: z.output<Input>, caller: Caller): Promise<z.input<Output>>;
}

/**
 * What the audit log keeps of a user's text (a message, a memory, a task): its size in
 * UTF-8 bytes and its sha256, never the text, as the log cannot be deleted from.
 */
export function contentDigest(text: string): { bytes: number; sha256: string } {
  const bytes = Buffer.from(text, 'utf8');
  return { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Defines a syscall with its types inferred from the schemas. */
export function defineSyscall<Input extends z.ZodType, Output extends z.ZodType>(
  syscall: Syscall<Input, Output>,
): Syscall<Input, Output> {
  return syscall;
}

/** Whether `capabilities` grant `needed`; patterns end in ".*" or are "*". */
export function grants(capabilities: readonly string[], needed: string): boolean {
  return capabilities.some(
    (pattern) =>
      pattern === '*' ||
      pattern === needed ||
      (pattern.endsWith('.*') && needed.startsWith(pattern.slice(0, -1))),
  );
}
