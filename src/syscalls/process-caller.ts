/**
 * A process as a caller: its rights are data derived from its agent definition (the
 * capabilities of the tools it lists, the agents under `agents:`) and narrowed by its
 * ancestors', so a child never holds a right its parent lacks. Its namespaces are its own,
 * its agent's and its owner's.
 */
import type { AgentDefinition } from '../process/agent-definition.js';
import type { Queryable } from '../storage/db.js';
import { processNamespaces } from '../trust/namespaces.js';
import { intersect } from './capabilities.js';
import { toolNameOf } from './faces.js';
import type { ProcessCaller, Syscall } from './syscall.js';
import { syscalls } from './table.js';

/** The capability each tool name grants (a syscall's tool face, under its name and aliases). */
const capabilityOfTool = new Map<string, string>(
  (Object.values(syscalls) as Syscall[]).flatMap((syscall) =>
    syscall.tool === undefined
      ? []
      : [toolNameOf(syscall.name), ...(syscall.tool.aliases ?? [])].map(
          (name) => [name, syscall.capability] as [string, string],
        ),
  ),
);

/** The capabilities a definition's tools grant ("*": every tool); kernel tools (finish, wait, ...) grant none. */
export function capabilitiesOfTools(tools: readonly string[]): string[] {
  if (tools.includes('*')) return ['*'];
  return [...new Set(tools.flatMap((name) => capabilityOfTool.get(name) ?? []))].sort();
}

/** The agents of `own` that `parent` also allows ("*": any). */
export function intersectAgents(own: readonly string[], parent: readonly string[]): string[] {
  if (parent.includes('*')) return [...own];
  if (own.includes('*')) return [...parent];
  return own.filter((agent) => parent.includes(agent));
}

/** One process of a chain, root first: what its definition grants. */
export interface ChainLink {
  pid: number;
  ppid: number | null;
  owner: string;
  priority: number;
  definition: Pick<AgentDefinition, 'name' | 'tools' | 'agents'>;
}

/** The caller of the last process of `chain` (root first): each link narrowed by the one before. */
export function callerOfChain(chain: readonly ChainLink[]): ProcessCaller {
  let capabilities: string[] | undefined;
  let spawn: string[] | undefined;
  for (const link of chain) {
    const own = capabilitiesOfTools(link.definition.tools);
    capabilities = capabilities === undefined ? own : intersect(own, capabilities);
    spawn =
      spawn === undefined ? [...link.definition.agents] : intersectAgents(link.definition.agents, spawn);
  }
  const self = chain.at(-1)!;
  return {
    kind: 'process',
    pid: self.pid,
    ppid: self.ppid,
    owner: self.owner,
    priority: self.priority,
    capabilities: capabilities ?? [],
    ownCapabilities: capabilitiesOfTools(self.definition.tools),
    spawn: spawn ?? [],
    namespaces: processNamespaces({ pid: self.pid, agentName: self.definition.name, owner: self.owner }),
  };
}

/** Loads process `pid` and its ancestors with their definitions, and derives its caller. */
export async function loadProcessCaller(db: Queryable, pid: number): Promise<ProcessCaller> {
  const chain = await db.query<ChainLink & { depth: number }>(
    `with recursive chain as (
       select pid, ppid, owner, priority, agent_name, agent_version, 0 as depth from aos.processes where pid = $1
       union all
       select p.pid, p.ppid, p.owner, p.priority, p.agent_name, p.agent_version, chain.depth + 1
         from aos.processes p join chain on p.pid = chain.ppid
     )
     select chain.pid, chain.ppid, chain.owner, chain.priority, chain.depth, agents.definition
       from chain join aos.agents on agents.name = chain.agent_name and agents.version = chain.agent_version
      order by chain.depth desc`,
    [pid],
  );
  return callerOfChain(
    chain.rows.map((row) => ({
      ...row,
      pid: Number(row.pid),
      ppid: row.ppid === null ? null : Number(row.ppid),
    })),
  );
}
