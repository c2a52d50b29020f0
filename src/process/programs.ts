/**
 * The programs a kernel can run, and how a process's definition finds its code: an
 * agent definition runs the built-in agent program; a program runs the code registered
 * with this kernel (createKernel({ programs })), or the module it was registered from
 * (`aos run ./planner.ts`), imported by any worker (TypeScript through tsx).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AosError } from '../errors.js';
import type { AgentDefinition } from './agent-definition.js';
import { agentProgram } from './agent-program.js';
import { isProgram, type Program } from './program.js';

/** File endings of program modules. */
export const programExtensions = ['.ts', '.mts', '.js', '.mjs'];

/** Whether a path names a program module (rather than an agent file). */
export function isProgramPath(path: string): boolean {
  return programExtensions.includes(extname(path));
}

export class ProgramCatalog {
  private readonly local = new Map<string, Program>();
  private readonly modules = new Map<string, Promise<Program[]>>();

  constructor(programs: Program[] = []) {
    for (const program of programs) this.local.set(program.name, program);
  }

  /** Programs given to this kernel, which only its own workers can run. */
  get localPrograms(): Program[] {
    return [...this.local.values()];
  }

  /** The program a process of `definition` runs. */
  async programFor(definition: AgentDefinition): Promise<Program> {
    const source = definition.program;
    if (source === undefined) return agentProgram(definition);
    if (source.module === null) {
      const program = this.local.get(definition.name);
      if (program === undefined) {
        throw new AosError('not_found', `program "${definition.name}" is not known to this kernel`, {
          hint: 'it was registered by another kernel without a module path; register it by path (aos run FILE.ts) so any worker can load it',
        });
      }
      return program;
    }
    const programs = await this.load(source.module);
    const program = programs.find((candidate) => candidate.name === definition.name);
    if (program === undefined) {
      throw new AosError(
        'not_found',
        `module ${source.module} no longer exports a program named "${definition.name}"`,
        {
          hint: 'export it again (defineProgram), or start a new process',
        },
      );
    }
    return program;
  }

  /** The programs a module exports (cached by the module's current content). */
  load(path: string): Promise<Program[]> {
    const absolute = resolve(path);
    const key = `${absolute}#${moduleDigest(absolute)}`;
    let loaded = this.modules.get(key);
    if (loaded === undefined) {
      loaded = importPrograms(absolute, key.slice(key.indexOf('#') + 1));
      loaded.catch(() => this.modules.delete(key));
      this.modules.set(key, loaded);
    }
    return loaded;
  }
}

/** sha256 of a module's source; `not_found` when it cannot be read. */
export function moduleDigest(path: string): string {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AosError('not_found', `cannot read program module ${path}`, {
      hint: 'check the path; a program module is a .ts or .js file that exports defineProgram(...)',
      cause: error,
    });
  }
  return createHash('sha256').update(source).digest('hex');
}

async function importPrograms(path: string, digest: string): Promise<Program[]> {
  // The digest in the URL makes a changed file a new module instead of the cached one.
  const url = `${pathToFileURL(path).href}?aos=${digest.slice(0, 16)}`;
  let module: Record<string, unknown>;
  try {
    if (path.endsWith('.ts') || path.endsWith('.mts')) {
      const { tsImport } = await import('tsx/esm/api');
      module = (await tsImport(url, import.meta.url)) as Record<string, unknown>;
    } else {
      module = (await import(url)) as Record<string, unknown>;
    }
  } catch (error) {
    throw new AosError('invalid_input', `cannot load program module ${path}: ${(error as Error).message}`, {
      hint: 'run it with node to see the error; a program module exports defineProgram(...)',
      cause: error,
    });
  }
  const programs: Program[] = [];
  const add = (value: unknown) => {
    if (isProgram(value) && !programs.some((known) => known.name === value.name)) programs.push(value);
  };
  // A module compiled as CommonJS (no "type": "module" near it) arrives wrapped once more in `default`.
  const wrapped = module.default;
  const layers =
    typeof wrapped === 'object' && wrapped !== null && !isProgram(wrapped)
      ? [module, wrapped as Record<string, unknown>]
      : [module];
  for (const layer of layers) add(layer.default);
  for (const layer of layers) for (const value of Object.values(layer)) add(value);
  if (programs.length === 0) {
    throw new AosError('invalid_input', `module ${path} exports no program`, {
      hint: "export one: export default defineProgram('name', async (ctx, input) => ...)",
    });
  }
  return programs;
}
