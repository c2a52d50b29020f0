/**
 * Exit effects: what follows every exit, however it came (a slice's exit, the finish tool,
 * KILL of a waiting process in SQL, a limit). A trigger queues each exited process in
 * aos.exit_effects in the exit's transaction (migration 0020); a worker drains the queue:
 * it writes the agent's episode when the agent asked for one and the exit did not already
 * write it, removes the entry in the same transaction, then exports the trace. Workers
 * share the queue (skip locked), and an entry a crashed worker held is taken by the next.
 */
import type { Embedder } from '../memory/embedder.js';
import { writeEpisode } from '../memory/episodes.js';
import type { Db, Queryable } from '../storage/db.js';
import type { AgentDefinition } from './agent-definition.js';

/** What draining needs from its worker. */
export interface ExitEffectsHost {
  db: Db;
  embedder: Embedder;
  /** An agent's definition, read on `tx` when not known (PGlite has one session: no second one inside a transaction). */
  definition(name: string, version: number, tx: Queryable): Promise<AgentDefinition>;
  /** Exports a process's trace, when configured; its failure is the caller's to report. */
  exportTrace?: (pid: number) => Promise<unknown>;
}

interface QueuedExit {
  pid: number;
  agent_name: string;
  agent_version: number;
  exit_status: number | null;
  result: unknown;
  error: { code: string; message: string } | null;
  has_episode: boolean;
}

/**
 * Handles up to `limit` queued exits; resolves to their pids and a promise of their trace
 * exports (each export's failure is reported to `onExportError`, never thrown).
 */
export async function drainExitEffects(
  host: ExitEffectsHost,
  onExportError: (pid: number, error: unknown) => void,
  limit = 50,
): Promise<number[]> {
  const drained = await host.db.transaction(async (tx) => {
    const queued = await tx.query<QueuedExit>(
      `select e.pid, p.agent_name, p.agent_version, p.exit_status, p.result, p.error,
              exists (select 1 from aos.memories m
                       where m.namespace = 'agent:' || p.agent_name and m.external_id = 'episode-' || e.pid) as has_episode
         from aos.exit_effects e join aos.processes p on p.pid = e.pid
        order by e.pid limit $1
          for update of e skip locked`,
      [limit],
    );
    for (const exit of queued.rows) {
      if (exit.has_episode) continue;
      const definition = await host.definition(exit.agent_name, exit.agent_version, tx);
      if (definition.memory?.episode !== true) continue;
      await writeEpisode(
        tx,
        {
          pid: exit.pid,
          agent: exit.agent_name,
          status: exit.exit_status ?? 1,
          result: exit.result ?? null,
          error: exit.error ?? null,
        },
        host.embedder,
      );
    }
    const pids = queued.rows.map((exit) => exit.pid);
    if (pids.length > 0) await tx.query('delete from aos.exit_effects where pid = any($1)', [pids]);
    return pids;
  });
  for (const pid of drained) {
    host.exportTrace?.(pid).catch((error: unknown) => onExportError(pid, error));
  }
  return drained;
}
