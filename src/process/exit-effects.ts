/**
 * Exit effects: what follows every exit, however it came (a slice's exit, the finish tool,
 * KILL of a waiting process in SQL, a limit). A trigger queues each exited process in
 * aos.exit_effects in the exit's transaction (migration 0020); workers drain the queue, one
 * exit per transaction: write the agent's episode when the agent asked for one and the exit
 * did not already write it, remove the entry, then export the trace (tried once). An exit
 * whose effects fail (the embedder is down) is tried again later, with a growing delay, and
 * never holds up the others. Workers share the queue (skip locked); an entry a crashed
 * worker held is taken by the next.
 */
import type { Embedder } from '../memory/embedder.js';
import { writeEpisode } from '../memory/episodes.js';
import type { Db, Queryable } from '../storage/db.js';
import { getAgentDefinition } from './spawn.js';

/** What draining needs from its worker. */
export interface ExitEffectsHost {
  db: Db;
  embedder: Embedder;
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

/** Reports a failure of one exit's effects (it is retried) or of its trace export (it is not). */
export type ExitEffectsFailure = (pid: number, what: 'effects' | 'trace export', error: unknown) => void;

/**
 * Handles up to `limit` queued exits that are due, each in its own transaction; resolves to
 * how many it took (done or failed), so a caller can go on while batches come back full.
 */
export async function drainExitEffects(
  host: ExitEffectsHost,
  onFailure: ExitEffectsFailure,
  limit = 50,
): Promise<number> {
  let taken = 0;
  const skipped: number[] = [];
  for (; taken < limit; taken++) {
    let pid: number | undefined;
    try {
      pid = await host.db.transaction((tx) => handleOne(tx, host, skipped));
    } catch (error) {
      // The entry is locked by no one now: note the attempt, outside the failed transaction.
      const failed = (error as { pid?: unknown }).pid;
      if (typeof failed !== 'number') throw error;
      skipped.push(failed);
      onFailure(failed, 'effects', (error as { cause?: unknown }).cause ?? error);
      await host.db.query(
        `update aos.exit_effects
            set attempts = attempts + 1, last_error = $2,
                next_try_at = now() + make_interval(secs => least(600, power(2, attempts + 1)))
          where pid = $1`,
        [failed, String((error as { cause?: { message?: unknown } }).cause?.message ?? error)],
      );
      continue;
    }
    if (pid === undefined) break;
    host.exportTrace?.(pid).catch((error: unknown) => onFailure(pid!, 'trace export', error));
  }
  return taken;
}

/** Takes one due exit (not in `skipped`), writes its episode if owed and removes it; undefined when none is due. */
async function handleOne(tx: Queryable, host: ExitEffectsHost, skipped: number[]) {
  const queued = await tx.query<QueuedExit>(
    `select e.pid, p.agent_name, p.agent_version, p.exit_status, p.result, p.error,
            exists (select 1 from aos.memories m
                     where m.namespace = 'agent:' || p.agent_name and m.external_id = 'episode-' || e.pid) as has_episode
       from aos.exit_effects e join aos.processes p on p.pid = e.pid
      where e.next_try_at <= now() and not (e.pid = any($1::bigint[]))
      order by e.next_try_at, e.pid limit 1
        for update of e skip locked`,
    [skipped],
  );
  const exit = queued.rows[0];
  if (exit === undefined) return undefined;
  try {
    if (!exit.has_episode) {
      // Read on this transaction: PGlite has one session, and a second one would wait for this.
      const definition = await getAgentDefinition(tx, exit.agent_name, exit.agent_version);
      if (definition.memory?.episode === true) {
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
    }
    await tx.query('delete from aos.exit_effects where pid = $1', [exit.pid]);
  } catch (error) {
    throw Object.assign(new Error(`exit effects of process ${exit.pid} failed`), {
      pid: exit.pid,
      cause: error,
    });
  }
  return exit.pid;
}
