/**
 * The faces of a syscall: how it is reached from the CLI, by an agent (a tool), from SQL,
 * and (next) over HTTP and MCP. Each syscall declares the faces it has; the names follow
 * from its own by one rule (`fs cat` is the tool and MCP tool `fs_cat`, the route
 * `POST /v1/fs/cat`), so no face has a name of its own to keep in step.
 */
import type { ToolAnnotations } from '../io/tool.js';
import type { ProcessCaller } from './syscall.js';

/** The CLI face: which input fields are positional arguments, in order, and examples. */
export interface CliFace {
  positional: string[];
  examples: string[];
}

/** The agent-tool face: what a model sees and may set; the rest comes from the caller. */
export interface ToolFace<Input = Record<string, unknown>, Output = unknown> {
  /** What the model reads about the tool. */
  description: string;
  /** The input fields an agent may set; every other field takes its default or a value of `given`. */
  fields: string[];
  /** Values for the calling process: always for fields it may not set, by default for those it may. */
  given?(caller: ProcessCaller): Partial<Input>;
  annotations: ToolAnnotations;
  /**
   * Runs inside the transaction that journals the call, so it happens exactly once (spawn,
   * send); `touches` names the other processes whose rows it may change (locked first).
   */
  transactional?: boolean;
  touches?(input: Record<string, unknown>): (number | null)[];
  /** Earlier names of the tool, still accepted (agent files written before the naming rule). */
  aliases?: string[];
  /** Earlier argument names, renamed before validation (`{ namespace: 'ns' }`). */
  renamed?: Record<string, string>;
  /** The text the model sees of a result; default the output as JSON. */
  text?(output: Output): string;
}

/** A syscall's name as a tool name: words joined by "_" (`fs cat` → `fs_cat`); the MCP tool has it too. */
export function toolNameOf(syscall: string): string {
  return syscall.replaceAll(' ', '_');
}

/** A syscall's HTTP route (for the HTTP API): GET for reads, POST for changes, its words as the path. */
export function httpRouteOf(syscall: { name: string; readOnly?: boolean }): { method: string; path: string } {
  return { method: syscall.readOnly ? 'GET' : 'POST', path: `/v1/${syscall.name.replaceAll(' ', '/')}` };
}
