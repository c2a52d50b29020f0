/**
 * Replay: re-run a finished process from its journal, with no model or tool call, and
 * check that every decision comes out the same: each operation the program makes is the
 * one journaled at its position (kind, name, tool arguments), each model request it
 * builds is the one that was sent (by digest), and it ends with the recorded result.
 */

import { canonicalJson } from '../canonical-json.js';
import { AosError } from '../errors.js';
import { dryRunExecution, type InspectHost } from '../process/inspect.js';
import { loadJournal } from '../process/journal.js';
import { requestDigest, toModelRequest } from '../process/operations/model-operation.js';
import { getProcessRow } from '../process/process-table.js';
import type { ProgramModelRequest } from '../process/program.js';
import { drainAudit } from './audit.js';
import { verifyContent } from './verify-content.js';

/** One way the replay differed from the record. */
export interface ReplayDifference {
  op: number | null;
  what: string;
}

/** What a replay found. */
export interface ReplayReport {
  pid: number;
  /** True when everything came out the same. */
  identical: boolean;
  operations: number;
  modelCalls: number;
  /** Model requests rebuilt and compared with the digest journaled when they were sent. */
  requestsCompared: number;
  differences: ReplayDifference[];
  recorded: { exitStatus: number | null; result: unknown; error: unknown };
  replayed: { exitStatus: number | null; result: unknown; error: unknown } | null;
}

/** Replays process `pid` (it must have exited); never runs a model or a tool. */
export async function replayProcess(host: InspectHost, pid: number): Promise<ReplayReport> {
  const row = await getProcessRow(host.db, pid);
  if (row.state !== 'exited') {
    throw new AosError(
      'conflict',
      `process ${pid} is ${row.state}: replay checks processes that have exited`,
      {
        hint: `wait for it (aos wait ${pid}), or look at its steps so far with: aos trace ${pid}`,
      },
    );
  }
  const journal = await loadJournal(host.db, pid);
  const differences: ReplayDifference[] = [];
  const execution = await dryRunExecution(host, row, journal);
  const journaled = journal.filter(
    (step) => step.op !== null && ['model', 'tool', 'step'].includes(step.kind),
  ).length;
  let operations = 0;
  let modelCalls = 0;
  let requestsCompared = 0;
  type End = { value: unknown } | { error: unknown } | { stopped: string } | { kernel: true };
  const outcome = await new Promise<End>((resolve) => {
    execution.dryRunWith({
      async operation(op, spec, recorded, request) {
        if (recorded === undefined) {
          // Past the journal's last operation: the kernel ended the process there (finish, a signal, a limit).
          if (operations === journaled) {
            resolve({ kernel: true });
            return 'stop';
          }
          return 'continue';
        }
        operations += 1;
        if (spec.kind !== 'model') return 'continue';
        modelCalls += 1;
        const sent = (recorded.output as { request_sha256?: string } | null)?.request_sha256;
        if (sent === undefined || spec.request === undefined) return 'continue';
        try {
          const rebuilt = requestDigest(
            toModelRequest(execution, (await request()) as ProgramModelRequest).modelRequest,
          );
          requestsCompared += 1;
          if (rebuilt !== sent) {
            differences.push({
              op,
              what: `the request of the model call at operation ${op} differs from the one sent`,
            });
          }
        } catch (error) {
          differences.push({
            op,
            what: `the request of the model call at operation ${op} could not be rebuilt: ${(error as Error).message}`,
          });
        }
        return 'continue';
      },
      ended: resolve,
    });
  });
  const recorded = { exitStatus: row.exit_status, result: row.result ?? null, error: row.error };
  let replayed: ReplayReport['replayed'] = null;
  if ('stopped' in outcome) {
    differences.push({ op: execution.position, what: outcome.stopped });
  } else if ('kernel' in outcome) {
    replayed = recorded;
  } else if ('value' in outcome) {
    replayed = { exitStatus: 0, result: outcome.value ?? null, error: null };
  } else {
    const error = outcome.error as { code?: string; message?: string };
    replayed = {
      exitStatus: 1,
      result: null,
      error: { code: error.code ?? 'failed', message: error.message ?? String(outcome.error) },
    };
  }
  if (replayed !== null && replayed !== recorded) {
    if (replayed.exitStatus !== recorded.exitStatus) {
      differences.push({
        op: null,
        what: `it exits with status ${replayed.exitStatus}, the record says ${recorded.exitStatus}`,
      });
    } else if (canonicalJson(replayed.result) !== canonicalJson(recorded.result)) {
      differences.push({ op: null, what: 'its result differs from the recorded one' });
    }
  }
  // A journal rewritten after the fact replays identically with itself: compare it with the audit log too.
  await drainAudit(host.db);
  const audited = await verifyContent(host.db, { pid, limit: 100 });
  for (const mismatch of audited.mismatches) {
    differences.push({ op: null, what: `audit entry ${mismatch.id}: ${mismatch.what}` });
  }
  return {
    pid,
    identical: differences.length === 0,
    operations,
    modelCalls,
    requestsCompared,
    differences,
    recorded,
    replayed,
  };
}
