/**
 * Forking a process at a step: a new process that shares the journal of the original
 * before that step (its operations, answered from the copy when the fork replays) and
 * runs live from there, optionally with another model or system prompt. What it spends
 * is its own; children the original started stay the original's.
 */
import { AosError } from '../errors.js';
import type { Db } from '../storage/db.js';
import { appendAudit } from '../trust/audit.js';
import { loadJournal } from './journal.js';
import { getProcessRow } from './process-table.js';
import { getAgentDefinition, registerAgent, spawnProcess } from './spawn.js';

/** What to fork: the process, the step (a journal seq, see aos trace) to branch at, and what to change. */
export interface ForkRequest {
  pid: number;
  at: number;
  /** A model string for the fork (openai:MODEL, anthropic:MODEL). */
  model?: string;
  /** The fork's system prompt (agents only); the CLI reads it from a file. */
  prompt?: string;
}

/** Creates the fork (state ready, a worker runs it); returns its pid. */
export async function forkProcess(db: Db, request: ForkRequest): Promise<number> {
  const source = await getProcessRow(db, request.pid);
  const journal = await loadJournal(db, request.pid);
  const step = journal.find((entry) => entry.seq === request.at);
  if (step === undefined) {
    throw new AosError('not_found', `process ${request.pid} has no step ${request.at}`, {
      hint: `list its steps with: aos trace ${request.pid}`,
    });
  }
  if (step.op === null || !['model', 'tool', 'step'].includes(step.kind)) {
    throw new AosError(
      'invalid_input',
      `step ${request.at} of process ${request.pid} is a ${step.kind} step; fork at a model call, tool call or step`,
      {
        hint: `see its steps with: aos trace ${request.pid}`,
      },
    );
  }
  const definition = await getAgentDefinition(db, source.agent_name, source.agent_version);
  let version = source.agent_version;
  if (request.prompt !== undefined) {
    if (definition.program !== undefined) {
      throw new AosError(
        'invalid_input',
        `${definition.name} is a program: it has no system prompt to replace`,
        {
          hint: 'fork it with --model, or change the program and start a new process',
        },
      );
    }
    version = await registerAgent(
      db,
      { ...definition, prompt: request.prompt.trim() },
      `fork of ${request.pid}`,
    );
  }
  const at = step.op;
  return db.transaction(async (tx) => {
    const pid = await spawnProcess(tx, {
      agent: source.agent_name,
      version,
      input: source.input,
      ppid: source.ppid,
      owner: source.owner,
      priority: source.priority,
      limits: source.limits as never,
      ...(request.model === undefined
        ? source.model === null
          ? {}
          : { model: source.model }
        : { model: request.model }),
    });
    await tx.query(
      `insert into aos.steps (pid, seq, kind, name, call_id, status, input, output, messages, usage, generation,
                              started_at, finished_at, op, finished_seq)
       select $1, seq, kind, name, call_id, status, input, output, messages, usage, 0, started_at, finished_at, op, finished_seq
         from aos.steps
        where pid = $2 and kind <> 'spawn' and kind <> 'exit' and op is not null and op < $3
          and status in ('done', 'failed', 'unknown-outcome')`,
      [pid, request.pid, at],
    );
    await appendAudit(tx, {
      kind: 'fork',
      pid,
      actor: 'user:local',
      data: { from: request.pid, atStep: request.at, atOperation: at, model: request.model ?? null, version },
    });
    return pid;
  });
}
