/**
 * The `ctx` a program runs with. Every method is one journaled operation of its
 * execution; spawn, wait, send, recv, sleep and approval are calls of the kernel's own
 * tools, so they take the same path (checks, journal, audit) as an agent's tool calls.
 */
import { AosError, type ErrorCode, errorCodes } from '../errors.js';
import type { Execution } from './execution.js';
import { modelOperation } from './operations/model-operation.js';
import { journaledValue, stepOperation } from './operations/step-operation.js';
import { toolOperation } from './operations/tool-operation.js';
import type { ChildOutcome, Decision, ProgramContext, Received, ToolResult } from './program.js';

/** Where the kernel's own programs (the agent program) find the execution behind a context. */
export const executionOf = Symbol('aos.execution');

/** The context object for `execution`'s program. */
export function createProgramContext(execution: Execution): ProgramContext & { [executionOf]: Execution } {
  const tool = (
    name: string,
    args: Record<string, unknown> = {},
    options: { callId?: string; invalidArguments?: string; offloadOverTokens?: number } = {},
  ) => toolOperation(execution, { name, arguments: args, ...options });
  /** A kernel tool's output, or its error result thrown as an AosError. */
  const kernelTool = async (name: string, args: Record<string, unknown>): Promise<unknown> => {
    const result = await tool(name, args);
    if (result.isError) throw errorOf(result);
    return result.output;
  };
  return {
    [executionOf]: execution,
    get pid() {
      return execution.pid;
    },
    step: (name, fn) => stepOperation(execution, name, fn),
    model: (request, options = {}) => modelOperation(execution, request, options.purpose),
    tool,
    async spawn(agent, input = '', options = {}) {
      const output = (await kernelTool('spawn', {
        agent,
        input,
        ...(options.priority === undefined ? {} : { priority: options.priority }),
      })) as { pid: number };
      return output.pid;
    },
    async wait(pid, options = {}) {
      const output = (await kernelTool('wait', {
        pid,
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      })) as ChildOutcome | { timedOut: true };
      if ('timedOut' in output) {
        throw new AosError('timeout', `process ${pid} did not exit within ${String(options.timeout)}`, {
          hint: 'wait again, or stop it with ctx.tool("send") / aos kill',
        });
      }
      return output;
    },
    async send(pid, message) {
      await kernelTool('send', { pid, message });
    },
    async recv(options = {}) {
      const output = (await kernelTool(
        'recv',
        options.timeout === undefined ? {} : { timeout: options.timeout },
      )) as Received | { timedOut: true };
      return 'timedOut' in output ? null : output;
    },
    async sleep(duration) {
      await kernelTool('sleep', { duration });
    },
    async approval(question, options = {}) {
      return (await kernelTool('approval', {
        question,
        ...(options.timeout === undefined ? {} : { timeout: options.timeout }),
      })) as Decision;
    },
    async now() {
      return new Date((await journaledValue(execution, 'aos.now', () => new Date().toISOString())) as string);
    },
    random: () => journaledValue(execution, 'aos.random', () => Math.random()),
    get terminating() {
      return execution.terminating;
    },
    get signals() {
      return execution.delivered;
    },
    get operation() {
      return execution.position;
    },
  };
}

/** A kernel tool's error result (its output is the error envelope) as the AosError it stands for. */
function errorOf(result: ToolResult): AosError {
  const envelope = (result.output as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | null)
    ?.error;
  if (typeof envelope?.code === 'string' && (errorCodes as string[]).includes(envelope.code)) {
    return new AosError(envelope.code as ErrorCode, String(envelope.message ?? ''), {
      ...(typeof envelope.hint === 'string' ? { hint: envelope.hint } : {}),
    });
  }
  return new AosError('conflict', result.content);
}
