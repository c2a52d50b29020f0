/**
 * Durable programs: agents and workflows written in TypeScript. A program is an async
 * function of a context and its input; each operation on the context (a step, a model
 * call, a tool call, spawn, wait, send, recv, sleep, an approval, the time, a random
 * number) is journaled once. After a crash the kernel runs the program again from the
 * start and answers every completed operation from the journal, so nothing completed
 * runs twice and the program continues where it was.
 */
import type { Message, ModelResponse } from '../cpu/model.js';
import type { Limits } from './agent-definition.js';

/** What a program may do and how it runs, besides its code. */
export interface ProgramOptions {
  description?: string;
  /** Tools `ctx.tool` may call (and model requests may offer); every tool the kernel knows by default. */
  tools?: string[];
  /** Registered agents and programs `ctx.spawn` may start; any by default. */
  agents?: string[];
  /** The model `ctx.model` uses when a request names none, e.g. "openai:gpt-4o-mini". */
  model?: string;
  limits?: Limits;
  /** Default priority of its processes, -20..20. */
  priority?: number;
}

/** The function a program runs: its result ends the process with status 0; a throw, with status 1. */
export type ProgramFunction = (ctx: ProgramContext, input: string) => Promise<unknown>;

/** A program, as `defineProgram` makes it. */
export interface Program {
  readonly kind: 'aos.program';
  readonly name: string;
  readonly run: ProgramFunction;
  readonly options: ProgramOptions;
}

/** A model request from a program; `model` defaults to the program's, `tools` are tool names. */
export interface ProgramModelRequest {
  model?: string;
  system?: string;
  messages: Message[];
  tools?: string[];
}

/** A tool call's result: text for a model, whether it failed, and the tool's structured output. */
export interface ToolResult {
  content: string;
  isError: boolean;
  output: unknown;
}

/** How a child process ended (ctx.wait). */
export interface ChildOutcome {
  pid: number;
  exitStatus: number;
  result: unknown;
  error: { code: string; message: string } | null;
}

/** A message taken from the mailbox (ctx.recv). */
export interface Received {
  from: number | null;
  message: string;
}

/** A person's decision on an approval (ctx.approval). */
export interface Decision {
  approved: boolean;
  reason: string | null;
  /** Who decided: "user:local", "sql:postgres", ...; null when the wait timed out. */
  by: string | null;
  /** The approval's id (aos approve PID ID). */
  id: number;
}

/** A signal as the program saw it: delivered at the start of operation `op`. */
export interface DeliveredSignal {
  signal: string;
  op: number;
}

/** The durable operations a program runs through. Each one is journaled once. */
export interface ProgramContext {
  readonly pid: number;
  /**
   * Runs `fn` and journals its result (plain JSON: objects, arrays, strings, finite
   * numbers, booleans, null) under `name`. After a crash a completed step returns its
   * journaled result without running; a step cut short by the crash runs again.
   */
  step<T>(name: string, fn: (signal: AbortSignal) => Promise<T> | T): Promise<T>;
  /**
   * A model call through the CPU scheduler (rate limits, budgets, usage). Pass a function
   * to build the request when the call is made: it then sees signals delivered just before.
   */
  model(request: ProgramModelRequest | (() => ProgramModelRequest)): Promise<ModelResponse>;
  /**
   * A tool call through the kernel's tool path: checked, journaled and audited like an
   * agent's. `callId` names the call (default: from its position); `invalidArguments`
   * carries a model's arguments that were not a JSON object (the call fails with an error result).
   */
  tool(
    name: string,
    args?: Record<string, unknown>,
    options?: { callId?: string; invalidArguments?: string },
  ): Promise<ToolResult>;
  /** Starts a child process running a registered agent or program; returns its pid. */
  spawn(agent: string, input?: string, options?: { priority?: number }): Promise<number>;
  /** Waits for child `pid` to exit (the process parks meanwhile); throws `timeout` after `timeout`. */
  wait(pid: number, options?: { timeout?: string | number }): Promise<ChildOutcome>;
  /** Puts a message in process `pid`'s mailbox. */
  send(pid: number, message: string): Promise<void>;
  /** Takes the oldest message, waiting for one; null when `timeout` passes first. */
  recv(options?: { timeout?: string | number }): Promise<Received | null>;
  /** Sleeps durably: "30s", "5m", or milliseconds. */
  sleep(duration: string | number): Promise<void>;
  /** Asks a person and waits durably for the decision (aos approvals, aos approve, aos deny). */
  approval(question: string, options?: { timeout?: string | number }): Promise<Decision>;
  /** The time, journaled: a replay sees the same value. */
  now(): Promise<Date>;
  /** A random number in [0, 1), journaled: a replay sees the same value. */
  random(): Promise<number>;
  /** True once TERM was delivered: finish or save your work. */
  readonly terminating: boolean;
  /** Signals delivered so far, in order, each at the start of the operation it preceded. */
  readonly signals: readonly DeliveredSignal[];
  /** The position of the operation started last (1 for the first). */
  readonly operation: number;
}

/** Defines a program: `aos run FILE.ts` runs the one its module exports (default or by name). */
export function defineProgram(name: string, run: ProgramFunction, options: ProgramOptions = {}): Program {
  if (!/^[a-z0-9][a-z0-9_.-]*$/i.test(name)) {
    throw new TypeError(`defineProgram: "${name}" is not a name (letters, digits, dot, dash or underscore)`);
  }
  return Object.freeze({ kind: 'aos.program' as const, name, run, options: Object.freeze({ ...options }) });
}

/** Whether a value is a program (works across copies of this module). */
export function isProgram(value: unknown): value is Program {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'aos.program' &&
    typeof (value as { run?: unknown }).run === 'function'
  );
}
