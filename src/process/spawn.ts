/** Registering agent definitions and spawning processes from them. */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { type AgentDefinition, definitionDigest, type Limits } from './agent-definition.js';

/** What a new process is made of. */
export interface SpawnRequest {
  agent: string;
  /** A registered version; the newest when absent. */
  version?: number;
  input?: string;
  ppid?: number | null;
  owner?: string;
  priority?: number;
  /** Limits that override the agent's own. */
  limits?: Limits;
  /** A model string that overrides the agent's (openai:MODEL, anthropic:MODEL). */
  model?: string;
}

/** Stores a definition (a new version only when its content changed); returns its version. */
export async function registerAgent(
  db: Queryable,
  definition: AgentDefinition,
  source?: string,
): Promise<number> {
  const result = await db.query<{ version: number }>('select aos.register_agent($1, $2, $3, $4) as version', [
    definition.name,
    definitionDigest(definition),
    JSON.stringify(definition),
    source ?? null,
  ]);
  return result.rows[0]!.version;
}

/** A registered definition; `not_found` when there is none. */
export async function getAgentDefinition(
  db: Queryable,
  name: string,
  version?: number,
): Promise<AgentDefinition> {
  const result = await db.query<{ definition: AgentDefinition }>(
    `select definition from aos.agents where name = $1 and ($2::int is null or version = $2)
      order by version desc limit 1`,
    [name, version ?? null],
  );
  const row = result.rows[0];
  if (row === undefined) {
    throw new AosError(
      'not_found',
      `no agent named "${name}"${version === undefined ? '' : ` at version ${version}`}`,
      {
        hint: 'run its file once with: aos run FILE.md (that registers it)',
      },
    );
  }
  return row.definition;
}

/** Creates a process in state ready; returns its pid. */
export async function spawnProcess(db: Queryable, request: SpawnRequest): Promise<number> {
  const result = await db.query<{ pid: number }>(
    'select aos.spawn_process($1, $2, $3, $4, $5, $6, $7, $8) as pid',
    [
      request.agent,
      request.input ?? '',
      request.ppid ?? null,
      request.owner ?? 'local',
      request.priority ?? null,
      JSON.stringify(request.limits ?? {}),
      request.version ?? null,
      request.model ?? null,
    ],
  );
  return result.rows[0]!.pid;
}
