/**
 * ctx.step, ctx.now and ctx.random as operations: run the function (or read the clock,
 * or draw a number) and journal the result in one write. A completed step is never run
 * again; one cut short by a crash runs again (its result was never journaled). The
 * result must be plain JSON, so that what a replay reads back is what the step returned.
 */
import { AosError } from '../../errors.js';
import { errorRecord, recordedError } from '../error-record.js';
import type { Execution } from '../execution.js';
import { journalable } from '../journalable.js';
import type { LiveOutcome, Recorded } from '../operation.js';
import type { Slice } from '../slice.js';

/** Runs `fn` as step `name` of `execution`. */
export function stepOperation<T>(
  execution: Execution,
  name: string,
  fn: (signal: AbortSignal) => Promise<T> | T,
): Promise<T> {
  if (typeof name !== 'string' || name === '') {
    throw new AosError('invalid_input', 'ctx.step needs a name', {
      hint: "ctx.step('fetch-page', async () => ...)",
    });
  }
  return execution.operation(
    { kind: 'step', name },
    (slice, op) => runStep(slice, op, name, fn, true),
    decodeStepResult as (recorded: Recorded) => T,
  );
}

/** A value the kernel produces and journals (the time, a random number): a replay reads the same one. */
export function journaledValue<T>(execution: Execution, name: string, produce: () => T): Promise<T> {
  return execution.operation(
    { kind: 'step', name },
    (slice, op) => runStep(slice, op, name, produce, false),
    decodeStepResult as (recorded: Recorded) => T,
  );
}

/** A journaled step result as the program sees it; a journaled failure is thrown again. */
export function decodeStepResult(recorded: Recorded): unknown {
  if (recorded.status !== 'done') throw recordedError(recorded.output);
  const output = recorded.output as { value?: unknown } | null;
  return output === null || !('value' in output) ? undefined : output.value;
}

async function runStep<T>(
  slice: Slice,
  op: number,
  name: string,
  fn: (signal: AbortSignal) => Promise<T> | T,
  countsAsStep: boolean,
): Promise<LiveOutcome> {
  const startedAt = new Date();
  let output: { value?: unknown } | { error: ReturnType<typeof errorRecord> };
  let status: 'done' | 'failed';
  await slice.vouch();
  try {
    const value = await fn(slice.control.everything.signal);
    const problem = journalable(value);
    if (problem === undefined) {
      output = value === undefined ? {} : { value };
      status = 'done';
    } else {
      output = {
        error: errorRecord(
          new AosError(
            'invalid_input',
            `step "${name}" returned a value that cannot be journaled: it ${problem}`,
          ),
        ),
      };
      status = 'failed';
    }
  } catch (error) {
    output = { error: errorRecord(error) };
    status = 'failed';
  }
  // Killed or lease lost while it ran: nothing is journaled; the step runs again if the process goes on.
  if (slice.control.everything.signal.aborted) return { kind: 'ended' };
  await slice.appendProgramStep({ name, status, output, op, startedAt, counts: countsAsStep });
  return { kind: 'done', recorded: { status, output, usage: null } };
}
