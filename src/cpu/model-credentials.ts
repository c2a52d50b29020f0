/**
 * Whether a model string's driver has what it needs from the environment (an API key), checked
 * by the drivers and before a process is spawned, so that a missing key fails at once, naming
 * the variable, instead of after the process has started.
 */
import { AosError } from '../errors.js';

/** OpenAI's own endpoint: the only OpenAI-compatible one where a key is always required. */
export const openAIDefaultBaseUrl = 'https://api.openai.com/v1';

/** Throws `unavailable`, naming the variable to set, when `model`'s driver would have no API key. */
export function checkModelCredentials(
  model: string,
  environment: NodeJS.ProcessEnv = process.env,
  given: { apiKey?: string | undefined; baseUrl?: string | undefined } = {},
): void {
  const prefix = model.split(':', 1)[0];
  if (prefix === 'openai') {
    const baseUrl = given.baseUrl ?? environment.OPENAI_BASE_URL ?? openAIDefaultBaseUrl;
    const key = given.apiKey ?? environment.OPENAI_API_KEY;
    if ((key === undefined || key === '') && baseUrl === openAIDefaultBaseUrl) {
      throw new AosError('unavailable', `${model} needs an API key: OPENAI_API_KEY is not set`, {
        hint: 'set OPENAI_API_KEY, or OPENAI_BASE_URL for a local OpenAI-compatible server (docs/cpu.md)',
        retryable: false,
      });
    }
  }
  if (prefix === 'anthropic') {
    const key = given.apiKey ?? environment.ANTHROPIC_API_KEY;
    if (key === undefined || key === '') {
      throw new AosError('unavailable', `${model} needs an API key: ANTHROPIC_API_KEY is not set`, {
        hint: 'set ANTHROPIC_API_KEY (docs/cpu.md)',
        retryable: false,
      });
    }
  }
}
