/** Turns an agent's model string into a driver: scripted:FILE, openai:MODEL, anthropic:MODEL. */
import { AosError } from '../errors.js';
import { AnthropicDriver } from './anthropic-driver.js';
import type { ModelDriver } from './model.js';
import { OpenAIDriver } from './openai-driver.js';
import type { RetryPolicy } from './retry.js';
import type { Script } from './script.js';
import { ScriptedDriver } from './scripted-driver.js';

/** What a resolver reads of an agent definition (an `AgentDefinition` is one): its name, and its script for `scripted:`. */
export interface ModelSource {
  name: string;
  script?: Script;
}

/**
 * Chooses a driver for a process: its agent definition, and the model string it runs
 * (the agent's, or an override); throws `invalid_input` for an unknown prefix.
 */
export type ModelResolver = (definition: ModelSource, model: string) => ModelDriver;

/** Options of the default resolver's network drivers: their retries and per-attempt timeout. */
export interface ModelResolverOptions {
  retry?: RetryPolicy;
  timeoutMs?: number;
}

/** The default resolver, caching one driver per definition and model. Keys and URLs come from the environment. */
export function createModelResolver(options: ModelResolverOptions = {}): ModelResolver {
  const cache = new WeakMap<ModelSource, Map<string, ModelDriver>>();
  return (definition, model) => {
    let drivers = cache.get(definition);
    if (drivers === undefined) {
      drivers = new Map();
      cache.set(definition, drivers);
    }
    let driver = drivers.get(model);
    if (driver === undefined) {
      driver = createDriver(definition, model, options);
      drivers.set(model, driver);
    }
    return driver;
  };
}

function createDriver(definition: ModelSource, model: string, options: ModelResolverOptions): ModelDriver {
  const prefix = model.split(':', 1)[0] ?? '';
  if (prefix === 'scripted') {
    if (definition.script === undefined) {
      throw new AosError('invalid_input', `agent ${definition.name} has a scripted model but no script`, {
        hint: 'register it again from its file: aos run FILE.md',
      });
    }
    return new ScriptedDriver(definition.script);
  }
  if (prefix === 'openai') return new OpenAIDriver(options);
  if (prefix === 'anthropic') return new AnthropicDriver(options);
  throw new AosError('invalid_input', `unknown model "${model}" for agent ${definition.name}`, {
    hint: 'a model string is scripted:FILE, openai:MODEL or anthropic:MODEL',
  });
}
