/**
 * A tool call as an operation: the tool is looked up among those the process may use,
 * its arguments are checked, then it runs. A kernel (transactional) tool runs inside the
 * transaction that journals it, so it happens exactly once, and may block or end the
 * process. Any other tool that may have effects is journaled as started before it runs
 * and as done after; an idempotent one only when done. A call a dead worker left started
 * is run again if idempotent, else ends as unknown-outcome: never a silent duplicate.
 */
import { AosError, toAosError } from '../../errors.js';
import { writeFile } from '../../fs/write-file.js';
import { errorResult, type Tool, type ToolOutcome } from '../../io/tool.js';
import { processNamespace } from '../../trust/namespaces.js';
import type { Execution, OperationSpec } from '../execution.js';
import { digestOf, type JournalStep, type StepRecord } from '../journal.js';
import type { LiveOutcome, Recorded } from '../operation.js';
import type { ProcessRow } from '../process-table.js';
import type { ToolResult } from '../program.js';
import type { Slice } from '../slice.js';

/** A tool result over this many tokens is offloaded to a file unless the caller says otherwise. */
export const defaultOffloadOverTokens = 25_000;

/** A tool call as the program asked for it. */
export interface ToolCallRequest {
  name: string;
  arguments: Record<string, unknown>;
  callId: string;
  /** The raw arguments when a model sent text that is not a JSON object: the call fails with an error result. */
  invalidArguments?: string;
  /** A result over this many tokens is stored in the process's files and replaced by a stub; default 25,000. */
  offloadOverTokens?: number;
}

/** Runs a tool call as an operation of `execution`; resolves to its result. */
export function toolOperation(
  execution: Execution,
  call: Omit<ToolCallRequest, 'callId'> & { callId?: string },
): Promise<ToolResult> {
  const spec: OperationSpec = {
    kind: 'tool',
    name: call.name,
    input: call.arguments,
    ...(call.callId === undefined ? {} : { callId: call.callId }),
  };
  return execution.operation(
    spec,
    (slice, op, previous) => runTool(slice, op, { ...call, callId: call.callId ?? `op${op}` }, previous),
    decodeToolResult,
  );
}

/** A journaled tool result as the program sees it. */
export function decodeToolResult(recorded: Recorded): ToolResult {
  const output = (recorded.output ?? {}) as { content?: unknown; isError?: unknown; output?: unknown };
  const content =
    typeof output.content === 'string' ? output.content : JSON.stringify(recorded.output ?? null);
  return {
    content,
    isError: output.isError === true || recorded.status !== 'done',
    output: output.output === undefined ? content : output.output,
  };
}

async function runTool(
  slice: Slice,
  op: number,
  call: ToolCallRequest,
  previous: JournalStep | undefined,
): Promise<LiveOutcome> {
  const tool = slice.execution.tools.get(call.name);
  if (previous?.status === 'started') return recover(slice, op, call, tool, previous);
  if (tool === undefined) {
    const known = [...slice.execution.tools.keys()].join(', ');
    return failedCall(
      slice,
      op,
      call,
      new AosError('invalid_input', `unknown tool "${call.name}"`, { hint: `the tools here are: ${known}` }),
    );
  }
  if (call.invalidArguments !== undefined) {
    return failedCall(
      slice,
      op,
      call,
      new AosError(
        'invalid_input',
        `the arguments for ${tool.name} are not a JSON object: ${call.invalidArguments.slice(0, 500)}`,
      ),
    );
  }
  const parsed = tool.input.safeParse(call.arguments);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
    return failedCall(
      slice,
      op,
      call,
      new AosError('invalid_input', `bad arguments for ${tool.name}${where}: ${issue?.message ?? ''}`, {
        hint: 'see the tool’s input schema',
      }),
    );
  }
  if (tool.transactional) return runTransactional(slice, op, tool, call, parsed.data);
  return runPlain(slice, op, tool, call, parsed.data, undefined);
}

/** A call journaled as started by a worker that died: run it again if idempotent, else its outcome is unknown. */
async function recover(
  slice: Slice,
  op: number,
  call: ToolCallRequest,
  tool: Tool | undefined,
  previous: JournalStep,
): Promise<LiveOutcome> {
  if (tool?.annotations.idempotent) {
    const parsed = tool.input.safeParse(call.arguments);
    if (parsed.success) return runPlain(slice, op, tool, call, parsed.data, previous.seq);
  }
  const content =
    `unknown outcome: the worker running this ${call.name} call stopped before it reported a result. ` +
    'It may or may not have taken effect; check before you repeat it.';
  const output = { content, isError: true };
  await slice.finishResult(previous.seq, {
    status: 'unknown-outcome',
    output,
    audit: toolAudit(call, 'unknown-outcome', output),
  });
  return { kind: 'done', recorded: { status: 'unknown-outcome', output, usage: null } };
}

/** A call refused before it ran: its result is the error envelope. */
async function failedCall(
  slice: Slice,
  op: number,
  call: ToolCallRequest,
  error: AosError,
): Promise<LiveOutcome> {
  const output = resultOutput(errorResult(error));
  await slice.appendResult({
    kind: 'tool',
    name: call.name,
    callId: call.callId,
    status: 'failed',
    input: call.arguments,
    output,
    countsAsStep: true,
    op,
    audit: toolAudit(call, 'failed', output),
  });
  return { kind: 'done', recorded: { status: 'failed', output, usage: null } };
}

/** A kernel tool: runs inside the transaction that journals it (exactly once); may block or end the process. */
async function runTransactional(
  slice: Slice,
  op: number,
  tool: Tool,
  call: ToolCallRequest,
  input: Record<string, unknown>,
): Promise<LiveOutcome> {
  const touched = tool.touches?.(input, { pid: slice.lease.pid, ppid: slice.process.ppid }) ?? [];
  const others = touched.filter((pid): pid is number => pid !== null && pid !== slice.lease.pid);
  const outcome = await slice.resultTransaction(async (tx) => {
    if (others.length > 0) {
      await tx.query('select aos.lock_processes($1)', [[slice.lease.pid, ...others]]);
    }
    const locked = await tx.query<ProcessRow>('select * from aos.check_lease($1, $2)', [
      slice.lease.pid,
      slice.lease.generation,
    ]);
    const row = locked.rows[0]!;
    const result = await tool.run(input, {
      pid: slice.lease.pid,
      callId: call.callId,
      op,
      signal: slice.control.everything.signal,
      db: tx,
      process: row,
    });
    if (result.kind === 'block') return { result, wakeSeq: row.wake_seq };
    const output = resultOutput(result);
    const step: StepRecord = {
      kind: 'tool',
      name: tool.name,
      callId: call.callId,
      status: output.isError ? 'failed' : 'done',
      input: call.arguments,
      output,
      countsAsStep: true,
      op,
      audit: toolAudit(call, output.isError ? 'failed' : 'done', output),
    };
    const written = await slice.append(step, tx);
    if (result.kind === 'exit') {
      await tx.query('select aos.exit_process($1, $2, $3, $4)', [
        slice.lease.pid,
        result.status,
        JSON.stringify(result.result),
        null,
      ]);
    }
    return { result, output, written };
  });
  if (outcome.result.kind === 'block') {
    const block = outcome.result;
    return {
      kind: 'blocked',
      block: {
        state: block.state,
        reason: block.reason,
        detail: block.detail,
        callId: call.callId,
        wakeAt: block.wakeAt,
        seenWakeSeq: outcome.wakeSeq ?? null,
      },
    };
  }
  if (outcome.result.kind === 'exit') {
    slice.markExited();
    return { kind: 'ended' };
  }
  slice.count({ steps: 1 });
  if (tool.name === 'spawn' && outcome.output?.isError === false) slice.noteChildSpawned();
  const output = outcome.output!;
  return { kind: 'done', recorded: { status: output.isError ? 'failed' : 'done', output, usage: null } };
}

/**
 * Any other tool: run outside a transaction. A call that may have effects is journaled
 * as started before it runs, so a crash leaves a trace (unknown outcome). An idempotent
 * call is journaled once, when done: after a crash it simply runs again.
 */
async function runPlain(
  slice: Slice,
  op: number,
  tool: Tool,
  call: ToolCallRequest,
  input: Record<string, unknown>,
  existingSeq: number | undefined,
): Promise<LiveOutcome> {
  let seq = existingSeq;
  if (seq === undefined && !tool.annotations.idempotent) {
    const started = await slice.append({
      kind: 'tool',
      name: tool.name,
      callId: call.callId,
      status: 'started',
      input: call.arguments,
      op,
      audit: {
        kind: 'tool-call-started',
        data: { tool: call.name, callId: call.callId, arguments_sha256: digestOf(call.arguments) },
      },
    });
    seq = started.seq;
  }
  await slice.vouch();
  const runStartedAt = new Date();
  let result: ToolOutcome;
  try {
    result = await tool.run(input, {
      pid: slice.lease.pid,
      callId: call.callId,
      op,
      signal: slice.control.everything.signal,
      db: slice.execution.host.db,
      process: slice.process,
    });
  } catch (error) {
    result = errorResult(toAosError(error));
  }
  // Killed or lease lost while it ran: the call stays "started" and the boundary decides.
  if (slice.control.everything.signal.aborted) return { kind: 'ended' };
  if (result.kind !== 'result') {
    result = errorResult(new AosError('internal', `tool ${tool.name} may not block or exit the process`));
  }
  const output = await offloaded(slice, op, call, resultOutput(result));
  const done: StepRecord = {
    kind: 'tool',
    name: tool.name,
    callId: call.callId,
    status: output.isError ? 'failed' : 'done',
    input: call.arguments,
    output,
    countsAsStep: true,
    startedAt: runStartedAt,
    op,
    audit: toolAudit(call, output.isError ? 'failed' : 'done', output),
  };
  if (seq === undefined) {
    await slice.appendResult(done);
  } else {
    await slice.finishResult(seq, done);
  }
  return { kind: 'done', recorded: { status: done.status, output, usage: null } };
}

/** What a tool result is journaled as: its text, whether it failed, its structured output. */
function resultOutput(result: Exclude<ToolOutcome, { kind: 'block' }>): ToolOutput {
  if (result.kind === 'exit')
    return { content: result.content, isError: false, output: { status: result.status } };
  return {
    content: result.content,
    isError: result.isError === true,
    ...(result.output === undefined ? {} : { output: result.output }),
  };
}

interface ToolOutput {
  content: string;
  isError: boolean;
  output?: unknown;
  offloaded?: { namespace: string; path: string; version: number; characters: number; tokens: number };
}

/**
 * A result too large for the context is stored at once in the process's own files
 * (`/context/op-N-TOOL.txt` in `process:PID`) and replaced by a stub with its path, its
 * size and a preview; nothing of it is lost, and the agent reads it back with fs_read or
 * recall. Written before the step is journaled, and idempotent (the same content adds no
 * version), so a crash between the two is harmless.
 */
async function offloaded(
  slice: Slice,
  op: number,
  call: ToolCallRequest,
  output: ToolOutput,
): Promise<ToolOutput> {
  const limit = call.offloadOverTokens ?? defaultOffloadOverTokens;
  const content = output.content;
  if (content.length <= limit / 2) return output;
  const tokens = slice.execution.host.tokens.count(content);
  if (tokens <= limit) return output;
  const namespace = processNamespace(slice.lease.pid);
  const path = `/context/op-${op}-${call.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.txt`;
  const written = await slice.write(() =>
    writeFile(slice.execution.host.db, { namespace, path, content, authorPid: slice.lease.pid }),
  );
  const lines = content.split('\n');
  const preview = lines.slice(0, 20).join('\n').slice(0, 1500);
  const stub =
    `[aos] This result of ${call.name} is large (${tokens} tokens, ${content.length} characters, ${lines.length} lines), ` +
    `so it was stored in the file ${path} (namespace ${namespace}, version ${written.version}) instead of the context. ` +
    `Read the parts you need with fs_read {"path": "${path}", "offset": LINE, "limit": LINES}, or search it with fs_grep. ` +
    `It begins:\n${preview}${preview.length < content.length ? '\n[...]' : ''}`;
  return {
    ...output,
    content: stub,
    offloaded: { namespace, path, version: written.version, characters: content.length, tokens },
  };
}

/** The audit entry of a finished tool call: what was called, how it ended, digests of arguments and result. */
function toolAudit(call: ToolCallRequest, status: string, output: unknown) {
  return {
    kind: 'tool-call',
    data: {
      tool: call.name,
      callId: call.callId,
      status,
      arguments_sha256: digestOf(call.arguments),
      result_sha256: digestOf(output),
    },
  };
}
