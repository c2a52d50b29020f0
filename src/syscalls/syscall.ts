/**
 * The shape of a syscall: one kernel operation defined once (name, input and
 * output schemas, the capability it needs, the handler), from which the library
 * API, the CLI, --desc and later HTTP and MCP are derived.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { CliFace, ToolFace } from './faces.js';
import type { SyscallContext } from './syscall-context.js';

/** Who makes a call, and what they may do: the local user, or a process. */
export type Caller = UserCaller | ProcessCaller;

/** The machine's user (the CLI, the library). */
export interface UserCaller {
  kind: 'user';
  pid?: undefined;
  /** Capability patterns: "process.spawn", "process.*", "*". */
  capabilities: string[];
}

/**
 * A process calling through its tools. Its rights are data derived from its agent
 * definition (tools, `agents:`) and narrowed by its parent's (see process-caller.ts).
 */
export interface ProcessCaller {
  kind: 'process';
  pid: number;
  owner: string;
  priority: number;
  /** The capabilities it holds: its definition's, intersected with its parent's. */
  capabilities: string[];
  /** The capabilities its own definition grants (to tell an inherited denial from its own). */
  ownCapabilities: string[];
  /** The agents it may spawn ("*": any): its `agents:`, intersected with its parent's. */
  spawn: string[];
  /** The namespaces it may use: its own, its agent's, its owner's. */
  namespaces: string[];
  /** Its parent, when it has one. */
  ppid: number | null;
}

/** The caller for the CLI and the library: the machine's user, with every capability. */
export const localUser: UserCaller = { kind: 'user', capabilities: ['*'] };

/** What a call reaches, for the rules that depend on its input (namespaces, spawn rights). */
export interface Reach {
  namespaces?: readonly string[];
  agents?: readonly string[];
}

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
  /** The namespaces and agents a call reaches, checked against a process caller's rights. */
  reaches?(input: z.output<Input>): Reach;
  /** The CLI face (every syscall has one, `aos NAME`): positional arguments and examples. */
  cli?: CliFace;
  /** The agent-tool face, when agents may call it: `NAME` with "_" for " ". */
  tool?: ToolFace<z.input<Input>, z.output<Output>>;
  /** The SQL function that runs the same state change, when there is one (`aos.kill`). */
  sql?: string;
  handler(context: SyscallContext, input: z.output<Input>, caller: Caller): Promise<z.input<Output>>;
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
