/**
 * The kernel tools that park or end the process: finish, wait, recv, sleep, approval.
 * They are transactional: each runs inside the transaction that journals its step, so
 * it happens exactly once, and a call that must wait parks the process (waiting,
 * sleeping) instead of holding a worker. The other agent tools (spawn, send, fs_*,
 * mem_*, recall) are faces of syscalls (src/syscalls/tool-face.ts); `wait` shares its
 * reaping with the wait syscall (reapProcess).
 */
import { z } from 'zod';
import { parseDuration } from '../../duration.js';
import { AosError } from '../../errors.js';
import { noSuchProcess, type ProcessRow, reapProcess } from '../../process/process-table.js';
import type { Queryable } from '../../storage/db.js';
import {
  defineTool,
  errorResult,
  type Tool,
  type ToolContext,
  type ToolOutcome,
  textResult,
} from '../tool.js';

/** The longest sleep or timeout: a year (a longer one is out of range, and past some point not a date at all). */
const maxDurationMs = 366 * 24 * 60 * 60 * 1000;

/** Milliseconds, or a string such as "30s", up to a year; a bad one is a bad argument (an error result), checked before the tool runs. */
const duration = z.union([z.number().int().min(0).max(maxDurationMs), z.string()]).refine(
  (value) => {
    try {
      return parseDuration(value, 'duration') <= maxDurationMs;
    } catch {
      return false;
    }
  },
  {
    message: 'not a duration up to 366d: write milliseconds, or a number with ms, s, m, h or d (e.g. 30s)',
  },
);

const finish = defineTool({
  name: 'finish',
  description: 'End this process with a result. Status 0 means success; any other number, failure.',
  input: z.object({ result: z.unknown().optional(), status: z.number().int().min(0).max(127).optional() }),
  annotations: { idempotent: true },
  transactional: true,
  touches: (_input, caller) => [caller.ppid],
  async run(input) {
    const status = input.status ?? 0;
    return { kind: 'exit', status, result: input.result ?? null, content: `exited with status ${status}` };
  },
});

const wait = defineTool({
  name: 'wait',
  description:
    'Wait until child process pid exits and return its exit status and result. With timeout, give up after that long.',
  input: z.object({ pid: z.number().int().positive(), timeout: duration.optional() }),
  annotations: { readOnly: true, idempotent: true },
  transactional: true,
  touches: (input) => [input.pid],
  async run(input, context) {
    const child = await context.db.query<ProcessRow>('select * from aos.processes where pid = $1', [
      input.pid,
    ]);
    const row = child.rows[0];
    if (row === undefined) return errorResult(noSuchProcess(input.pid));
    if (row.pid === context.pid) {
      return errorResult(new AosError('invalid_input', 'a process cannot wait for itself'));
    }
    // Only a parent is woken when a process exits (aos.exit_process), so waiting for any other would never end.
    if (row.ppid !== context.pid) {
      return errorResult(
        new AosError(
          'invalid_input',
          `process ${row.pid} is not a child of this process; wait collects only its own children`,
          { hint: 'wait for the pids that spawn returned' },
        ),
      );
    }
    if (row.state === 'exited') {
      await reapProcess(context.db, row.pid);
      const outcome = {
        pid: row.pid,
        exitStatus: row.exit_status,
        result: row.result ?? null,
        error: row.error,
      };
      return textResult(JSON.stringify(outcome), outcome);
    }
    return blockOrTimeOut(context, input.timeout, 'waiting', 'child', { pid: input.pid }, () =>
      textResult(JSON.stringify({ pid: input.pid, timedOut: true }), { pid: input.pid, timedOut: true }),
    );
  },
});

const recv = defineTool({
  name: 'recv',
  description: 'Take the oldest message from this process’s mailbox, waiting for one if it is empty.',
  input: z.object({ timeout: duration.optional() }),
  annotations: {},
  transactional: true,
  async run(input, context) {
    const taken = await context.db.query<{ id: number; sender_pid: number | null; body: string }>(
      `update aos.mailbox set received_at = now()
        where id = (select id from aos.mailbox where pid = $1 and received_at is null order by id limit 1)
        returning id, sender_pid, body`,
      [context.pid],
    );
    const message = taken.rows[0];
    if (message !== undefined) {
      const output = { from: message.sender_pid, message: message.body };
      return textResult(JSON.stringify(output), output);
    }
    return blockOrTimeOut(context, input.timeout, 'waiting', 'message', {}, () =>
      textResult(JSON.stringify({ timedOut: true }), { timedOut: true }),
    );
  },
});

const sleep = defineTool({
  name: 'sleep',
  description: 'Sleep for a duration (milliseconds, or "30s", "5m"). The sleep survives restarts.',
  input: z.object({ duration }),
  annotations: { idempotent: true },
  transactional: true,
  async run(input, context) {
    const ms = parseDuration(input.duration, 'duration');
    return blockOrTimeOut(context, ms, 'sleeping', 'sleep', {}, () => textResult('slept'));
  },
});

/**
 * Parks the process until woken, or until `timeout` has passed since this call
 * first blocked; then `onTimeout` is the result. The deadline is kept in the
 * process's wait_detail (its calls, by operation), so it survives restarts.
 */
async function blockOrTimeOut(
  context: ToolContext,
  timeout: number | string | undefined,
  state: 'waiting' | 'sleeping',
  reason: string,
  detail: Record<string, unknown>,
  onTimeout: () => ToolOutcome,
): Promise<ToolOutcome> {
  // By operation, never by the model's call id: another call with the same id must not inherit this deadline.
  const calls = (context.process.wait_detail as { calls?: { op?: number; deadline?: unknown }[] } | null)
    ?.calls;
  const previous = Array.isArray(calls) ? calls.find((call) => call.op === context.op) : undefined;
  const now = await databaseNow(context.db);
  let deadline: number | null = null;
  if (typeof previous?.deadline === 'string') {
    deadline = Date.parse(previous.deadline);
  } else if (timeout !== undefined) {
    deadline = now + parseDuration(timeout, 'timeout');
  }
  if (deadline !== null && now >= deadline) return onTimeout();
  return {
    kind: 'block',
    state,
    reason,
    detail: {
      ...detail,
      ...(deadline === null ? {} : { deadline: new Date(deadline).toISOString() }),
    },
    wakeAt: deadline === null ? null : new Date(deadline),
  };
}

async function databaseNow(db: Queryable): Promise<number> {
  const result = await db.query<{ now: Date }>('select now() as now');
  return new Date(result.rows[0]!.now).getTime();
}

const approval = defineTool({
  name: 'approval',
  description:
    'Ask a person to approve something, and wait for the decision (they answer with aos approve or aos deny). ' +
    'Returns {approved, reason, by, id}. With timeout, the answer is "not approved" after that long.',
  input: z.object({ question: z.string().min(1), timeout: duration.optional() }),
  annotations: {},
  transactional: true,
  async run(input, context) {
    // Keyed by the operation (assigned by the kernel), not the model's call id: every new
    // question is a new approval that a person decides; a replay of this call finds its own.
    const inserted = await context.db.query<{ id: number }>(
      `insert into aos.approvals (pid, op, call_id, question) values ($1, $2, $3, $4)
       on conflict (pid, op) do nothing returning id`,
      [context.pid, context.op, context.callId, input.question],
    );
    if (inserted.rowCount > 0) {
      await context.db.query('select aos.audit_append($1, $2, $3, $4)', [
        'approval-requested',
        context.pid,
        `process:${context.pid}`,
        JSON.stringify({ approval: inserted.rows[0]!.id, question: input.question }),
      ]);
    }
    const found = await context.db.query<{
      id: number;
      decision: string | null;
      reason: string | null;
      decided_by: string | null;
    }>('select id, decision, reason, decided_by from aos.approvals where pid = $1 and op = $2', [
      context.pid,
      context.op,
    ]);
    const row = found.rows[0]!;
    if (row.decision !== null) {
      const decision = {
        approved: row.decision === 'approved',
        reason: row.reason,
        by: row.decided_by,
        id: row.id,
      };
      return textResult(JSON.stringify(decision), decision);
    }
    return blockOrTimeOut(context, input.timeout, 'waiting', 'approval', { approval: row.id }, () => {
      const decision = { approved: false, reason: 'no decision before the timeout', by: null, id: row.id };
      return textResult(JSON.stringify(decision), decision);
    });
  },
});

/** The process tools, in a fixed order. */
export const processTools: Tool[] = [finish, wait, recv, sleep, approval];
