/**
 * Episodes: what an agent remembers of each of its runs. When an agent file asks for it
 * (`memory: { episode: true }`), each exit of its processes is followed by one memory of
 * kind episode in the agent's namespace (`agent:NAME`), written by a worker draining the
 * exit effects queue (src/process/exit-effects.ts): the task, how it ended, what it used.
 * Its later runs find it with recall.
 */
import type { Queryable } from '../storage/db.js';
import type { Embedder } from './embedder.js';
import { addMemories } from './memory-store.js';

/** How a process ended, for its episode. */
export interface EpisodeEnd {
  pid: number;
  agent: string;
  status: number;
  result: unknown;
  error: { code: string; message: string } | null;
}

/** Writes the episode of process `end.pid` to `agent:NAME` (one per process: id "episode-PID"). */
export async function writeEpisode(tx: Queryable, end: EpisodeEnd, embedder: Embedder): Promise<void> {
  const facts = await tx.query<{ input: string; steps_used: number; tokens_used: number }>(
    'select input, steps_used, tokens_used from aos.processes where pid = $1',
    [end.pid],
  );
  const tools = await tx.query<{ name: string; calls: number }>(
    `select name, count(*)::int as calls from aos.steps where pid = $1 and kind = 'tool' group by name order by name`,
    [end.pid],
  );
  const process = facts.rows[0];
  if (process === undefined) return;
  const outcome =
    end.error === null
      ? `it ended with status ${end.status}${end.result === null ? '' : `, result: ${clip(typeof end.result === 'string' ? end.result : JSON.stringify(end.result), 600)}`}`
      : `it failed with status ${end.status} (${end.error.code}: ${clip(end.error.message, 300)})`;
  const used = tools.rows.map((row) => `${row.name} ×${row.calls}`).join(', ');
  const text =
    `Process ${end.pid} of ${end.agent} was asked: ${clip(process.input, 600)}. ${outcome}. ` +
    `${used === '' ? 'It called no tools' : `It called ${used}`}; ${process.steps_used} steps, ${process.tokens_used} tokens.`;
  await addMemories(
    tx,
    `agent:${end.agent}`,
    [
      {
        id: `episode-${end.pid}`,
        kind: 'episode',
        text,
        sourcePid: end.pid,
        importance: end.status === 0 ? 0.5 : 0.7,
        meta: {
          status: end.status,
          tools: Object.fromEntries(tools.rows.map((row) => [row.name, row.calls])),
        },
      },
    ],
    { returnMemories: false, embedder },
  );
}

function clip(text: string, limit: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit - 1)}…` : flat;
}
