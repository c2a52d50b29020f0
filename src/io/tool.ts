/**
 * A tool is a device driver: a name, a description, an input schema, annotations,
 * and a handler. Tool failures are results (isError) that go back to the model,
 * never exceptions that kill the process.
 */
import { z } from 'zod';
import type { ToolSpec } from '../cpu/model.js';
import { type AosError, envelopeOf } from '../errors.js';
import type { Queryable } from '../storage/db.js';

/** Hints about a tool's effects; `idempotent` tools are re-run after a crash, others are not. */
export interface ToolAnnotations {
  readOnly?: boolean;
  destructive?: boolean;
  idempotent?: boolean;
  openWorld?: boolean;
}

/** What a tool sees of its process's row (a structural part of ProcessRow, so tools need not import process/). */
export interface ToolProcess {
  pid: number;
  ppid: number | null;
  owner: string;
  agent_name: string;
  priority: number;
  /** Why it waits, and the deadlines of the calls that parked it (by operation). */
  wait_detail: unknown;
}

/** What a handler gets besides its arguments. */
export interface ToolContext {
  pid: number;
  /** The call's id as the model sent it (or op<N>): for display only; the model chooses it, so never a key. */
  callId: string;
  /** The call's operation position in its process, assigned by the kernel: the same on a replay or recovery of this call. */
  op: number;
  /** Aborts when the process is killed or loses its lease. */
  signal: AbortSignal;
  /** The database; for transactional tools, the journal step's own transaction. */
  db: Queryable;
  /** The calling process as its row says, locked for the transaction's duration (transactional tools only). */
  process: ToolProcess;
}

/** What a tool call produced. */
export type ToolOutcome =
  | { kind: 'result'; content: string; isError?: boolean; output?: unknown }
  | {
      kind: 'block';
      state: 'waiting' | 'sleeping';
      reason: string;
      detail: Record<string, unknown>;
      wakeAt: Date | null;
    }
  | { kind: 'exit'; status: number; result: unknown; content: string };

/** A tool definition. */
export interface Tool<Input = Record<string, unknown>> {
  name: string;
  description: string;
  input: z.ZodType<Input>;
  annotations: ToolAnnotations;
  /**
   * Runs inside the transaction that journals the step: exactly once, and it may
   * block the process (waiting, sleeping) or end it. For kernel tools.
   */
  transactional?: boolean;
  /**
   * For transactional tools: the other processes whose rows the call may change (a send's
   * target, a waited-for child, the parent an exit wakes). They are locked with the
   * caller's own row, in pid order, before the tool runs, so no two calls deadlock.
   */
  touches?(input: Input, caller: { pid: number; ppid: number | null }): (number | null)[];
  run(input: Input, context: ToolContext): Promise<ToolOutcome>;
}

/** Builds a tool with its input type inferred from the schema. */
export function defineTool<Schema extends z.ZodType<Record<string, unknown>>>(
  tool: Omit<Tool<z.infer<Schema>>, 'input'> & { input: Schema },
): Tool {
  return tool as unknown as Tool;
}

/** The result outcome for plain text. */
export function textResult(content: string, output?: unknown): ToolOutcome {
  return output === undefined ? { kind: 'result', content } : { kind: 'result', content, output };
}

/** The result outcome for a failure the model should see: the error envelope, as text and as output. */
export function errorResult(error: AosError): Extract<ToolOutcome, { kind: 'result' }> {
  const envelope = envelopeOf(error);
  return { kind: 'result', content: JSON.stringify(envelope), isError: true, output: envelope };
}

const specs = new WeakMap<Tool, ToolSpec>();

/** How the model sees a tool (computed once per tool). */
export function toolSpecOf(tool: Tool): ToolSpec {
  let spec = specs.get(tool);
  if (spec === undefined) {
    const schema = z.toJSONSchema(tool.input, { io: 'input' }) as Record<string, unknown>;
    delete schema.$schema;
    spec = { name: tool.name, description: tool.description, inputSchema: schema };
    specs.set(tool, spec);
  }
  return spec;
}
