/** Turns an agent's model string into a driver. Only `scripted:` exists until the CPU issue lands. */
import { AosError } from '../errors.js';
import type { AgentDefinition } from '../process/agent-definition.js';
import type { ModelDriver } from './model.js';
import { ScriptedDriver } from './scripted-driver.js';

/** Chooses a driver for a definition; throws `invalid_input` for an unknown prefix. */
export type ModelResolver = (definition: AgentDefinition) => ModelDriver;

const knownPrefixes = ['scripted'];

/** The default resolver, caching one driver per definition object. */
export function createModelResolver(): ModelResolver {
  const cache = new WeakMap<AgentDefinition, ModelDriver>();
  return (definition) => {
    const cached = cache.get(definition);
    if (cached !== undefined) return cached;
    const prefix = definition.model.split(':', 1)[0] ?? '';
    let driver: ModelDriver;
    if (prefix === 'scripted' && definition.script !== undefined) {
      driver = new ScriptedDriver(definition.script);
    } else if (prefix === 'openai' || prefix === 'anthropic') {
      throw new AosError('unavailable', `the ${prefix}: driver is not built into this version of aos yet`, {
        hint: 'use a scripted:FILE model for now',
      });
    } else {
      throw new AosError('invalid_input', `unknown model "${definition.model}" in agent ${definition.name}`, {
        hint: `a model string starts with one of: ${knownPrefixes.join(', ')}:`,
      });
    }
    cache.set(definition, driver);
    return driver;
  };
}
