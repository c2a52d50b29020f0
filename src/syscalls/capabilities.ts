/**
 * The capability rules of the dispatch path, as pure functions: whether a caller's
 * patterns grant a capability, the intersection that narrows a child to its parent's
 * rights, and the one check of a call (capability, namespaces, spawn rights) that
 * names the rule that denied it.
 */
import { AosError } from '../errors.js';
import type { Caller, Syscall } from './syscall.js';

/** Whether `capabilities` grant `needed`; patterns end in ".*" or are "*". */
export function grants(capabilities: readonly string[], needed: string): boolean {
  return capabilities.some(
    (pattern) =>
      pattern === '*' ||
      pattern === needed ||
      (pattern.endsWith('.*') && needed.startsWith(pattern.slice(0, -1))),
  );
}

/**
 * The patterns of `own` that `parent` also grants, so a child never holds a right its
 * parent lacks: "*" of the child becomes the parent's patterns; a pattern the parent grants
 * only in part (the child's "fs.*" under the parent's "fs.read") becomes the parent's narrower ones.
 */
export function intersect(own: readonly string[], parent: readonly string[]): string[] {
  const kept = new Set<string>();
  for (const pattern of own) {
    if (grants(parent, pattern)) kept.add(pattern);
    else for (const narrower of parent) if (grants([pattern], narrower)) kept.add(narrower);
  }
  return [...kept].sort();
}

/** A denial: `forbidden`, with the rule that denied the call in its details. */
function denied(rule: string, message: string, hint: string): AosError {
  return new AosError('forbidden', message, { hint, details: { rule } });
}

/**
 * Checks a call against its caller's rights; returns the denial (never throws). Rules:
 * `capability:C` (its definition does not grant C), `inherited:C` (its definition does,
 * its parent does not), `namespace:NS` (not one of its namespaces), `spawn:AGENT` (not in
 * its spawn rights).
 */
export function authorize(caller: Caller, syscall: Syscall, input: unknown): AosError | undefined {
  const needed = syscall.capability;
  if (!grants(caller.capabilities, needed)) {
    if (caller.kind === 'process' && grants(caller.ownCapabilities, needed)) {
      return denied(
        `inherited:${needed}`,
        `${syscall.name}: process ${caller.pid} does not hold ${needed}: its parent ${caller.ppid} lacks it, and a child never holds a right its parent lacks`,
        'give the parent the tool too, or spawn the child from a process that has it',
      );
    }
    const who = caller.kind === 'process' ? `process ${caller.pid}` : 'this caller';
    return denied(
      `capability:${needed}`,
      `${syscall.name} needs the capability ${needed}, which ${who} lacks`,
      caller.kind === 'process'
        ? 'list the tool under tools: in the agent file'
        : 'ask for it in the capabilities of the user',
    );
  }
  if (caller.kind !== 'process') return undefined;
  const reach = syscall.reaches?.(input as never) ?? {};
  for (const namespace of reach.namespaces ?? []) {
    if (!caller.namespaces.includes(namespace)) {
      return denied(
        `namespace:${namespace}`,
        `${syscall.name}: process ${caller.pid} may use only the namespaces ${caller.namespaces.join(', ')}, not "${namespace}"`,
        `use one of: ${caller.namespaces.join(', ')}`,
      );
    }
  }
  for (const agent of reach.agents ?? []) {
    if (!caller.spawn.includes(agent) && !caller.spawn.includes('*')) {
      return denied(
        `spawn:${agent}`,
        caller.spawn.length === 0
          ? `${syscall.name}: process ${caller.pid} may spawn no agent, not "${agent}"`
          : `${syscall.name}: process ${caller.pid} may spawn only ${caller.spawn.join(', ')}, not "${agent}"`,
        `list "${agent}" under agents: in its agent file (and its parent's)`,
      );
    }
  }
  return undefined;
}
