/**
 * Registering what a file defines, so processes can be spawned from it by name (from the
 * CLI, other processes or SQL): an agent file with the agents and programs it lists
 * under `agents:`, or a program module with every program it exports. Content that did
 * not change keeps its version; new content gets the next one.
 */
import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import type { ToolRegistry } from '../io/tool-registry.js';
import type { Queryable } from '../storage/db.js';
import { type AgentDefinition, loadScriptFile, readAgentFile } from './agent-definition.js';
import type { Program } from './program.js';
import { isProgramPath, moduleDigest, type ProgramCatalog } from './programs.js';
import { getAgentDefinition, registerAgent } from './spawn.js';

/** What registration needs from a kernel. */
export interface Registrar {
  db: Queryable;
  programs: ProgramCatalog;
  tools: ToolRegistry;
}

/** Registers the agent file or program module at `path` (and what it lists); returns its definition. */
export async function registerFile(registrar: Registrar, path: string): Promise<AgentDefinition> {
  const names = new Map<string, string>();
  const visit = async (file: string): Promise<string> => {
    const absolute = resolve(file);
    const known = names.get(absolute);
    if (known !== undefined) return known;
    if (isProgramPath(absolute)) {
      const definitions = await registerProgramModule(registrar, absolute);
      names.set(absolute, definitions[0]!.name);
      return definitions[0]!.name;
    }
    const { definition, agentFiles } = readAgentFile(absolute);
    names.set(absolute, definition.name);
    registrar.tools.select(definition.tools, `${file}: field "tools"`);
    definition.agents = [];
    for (const child of agentFiles) definition.agents.push(await visit(resolve(dirname(absolute), child)));
    await registerAgent(registrar.db, definition, absolute);
    return definition.name;
  };
  return getAgentDefinition(registrar.db, await visit(path));
}

/** Registers every program a module exports, for any worker to import; the module's default comes first. */
export async function registerProgramModule(registrar: Registrar, path: string): Promise<AgentDefinition[]> {
  const absolute = resolve(path);
  const programs = await registrar.programs.load(absolute);
  const definitions: AgentDefinition[] = [];
  for (const program of programs) definitions.push(await registerProgram(registrar, program, absolute));
  return definitions;
}

/**
 * Stores a program's definition (a new version when its code changed). `module` is the
 * path any worker imports it from, or null when only this kernel's workers can run it.
 */
export async function registerProgram(
  registrar: Registrar,
  program: Program,
  module: string | null,
): Promise<AgentDefinition> {
  const base = module === null ? process.cwd() : dirname(module);
  const agents: string[] = [];
  for (const agent of program.options.agents ?? ['*']) {
    const isFile = agent.endsWith('.md') || isProgramPath(agent) || agent.includes('/');
    agents.push(isFile ? (await registerFile(registrar, resolve(base, agent))).name : agent);
  }
  const model = program.options.model ?? '';
  const definition: AgentDefinition = {
    name: program.name,
    ...(program.options.description === undefined ? {} : { description: program.options.description }),
    model,
    tools: program.options.tools ?? ['*'],
    agents,
    limits: program.options.limits ?? {},
    priority: program.options.priority ?? 0,
    termGraceSteps: 3,
    termGraceMs: 30_000,
    prompt: '',
    program: {
      module,
      digest:
        module === null
          ? createHash('sha256')
              .update(program.run.toString())
              .update(JSON.stringify(program.options))
              .digest('hex')
          : moduleDigest(module),
    },
  };
  registrar.tools.select(definition.tools, `program ${program.name}: option "tools"`);
  if (model.startsWith('scripted:')) {
    definition.script = loadScriptFile(
      resolve(base, model.slice('scripted:'.length)),
      `program ${program.name}: option "model"`,
    );
  }
  await registerAgent(registrar.db, definition, module ?? undefined);
  return definition;
}
