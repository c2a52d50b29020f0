/** Turns an agent's model string into a driver: scripted:FILE, openai:MODEL, anthropic:MODEL. */
import { AosError } from '../errors.js';
import type { AgentDefinition } from '../process/agent-definition.js';
import { AnthropicDriver } from './anthropic-driver.js';
import type { ModelDriver } from './model.js';
import { OpenAIDriver } from './openai-driver.js';
import { ScriptedDriver } from './scripted-driver.js';

/** Chooses a driver for a definition; throws `invalid_input` for an unknown prefix. */
export type ModelResolver = (definition: AgentDefinition) => ModelDriver;

/** The default resolver, caching one driver per definition object. Keys and URLs come from the environment. */
export function createModelResolver(): ModelResolver {
  const cache = new WeakMap<AgentDefinition, ModelDriver>();
  return (definition) => {
    const cached = cache.get(definition);
    if (cached !== undefined) return cached;
    const driver = createDriver(definition);
    cache.set(definition, driver);
    return driver;
  };
}

function createDriver(definition: AgentDefinition): ModelDriver {
  const prefix = definition.model.split(':', 1)[0] ?? '';
  if (prefix === 'scripted') {
    if (definition.script === undefined) {
      throw new AosError('invalid_input', `agent ${definition.name} has a scripted model but no script`, {
        hint: 'register it again from its file: aos run FILE.md',
      });
    }
    return new ScriptedDriver(definition.script);
  }
  if (prefix === 'openai') return new OpenAIDriver();
  if (prefix === 'anthropic') return new AnthropicDriver();
  throw new AosError('invalid_input', `unknown model "${definition.model}" in agent ${definition.name}`, {
    hint: 'a model string is scripted:FILE, openai:MODEL or anthropic:MODEL',
  });
}
