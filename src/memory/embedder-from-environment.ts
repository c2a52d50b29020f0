/** Chooses the embedder from the environment: the offline hashing one unless a model is configured. */
import type { Embedder } from './embedder.js';
import { HashEmbedder } from './hash-embedder.js';
import { OpenAIEmbedder } from './openai-embedder.js';

/**
 * The embedder the environment asks for: AOS_EMBEDDINGS_MODEL names a model of an
 * OpenAI-compatible endpoint (AOS_EMBEDDINGS_BASE_URL or OPENAI_BASE_URL,
 * AOS_EMBEDDINGS_API_KEY or OPENAI_API_KEY, optional AOS_EMBEDDINGS_DIMENSIONS, and
 * AOS_EMBEDDINGS_WEIGHT, the vector list's weight in search, default 1);
 * unset or "hash", the offline hashing embedder. Nothing is contacted until the first embed.
 */
export function embedderFromEnvironment(environment: NodeJS.ProcessEnv = process.env): Embedder {
  const model = environment.AOS_EMBEDDINGS_MODEL?.trim();
  if (model === undefined || model === '' || model === 'hash') return new HashEmbedder();
  const dimensions = environment.AOS_EMBEDDINGS_DIMENSIONS?.trim();
  const weight = environment.AOS_EMBEDDINGS_WEIGHT?.trim();
  return new OpenAIEmbedder({
    model,
    baseUrl: environment.AOS_EMBEDDINGS_BASE_URL || environment.OPENAI_BASE_URL || undefined,
    apiKey: environment.AOS_EMBEDDINGS_API_KEY || environment.OPENAI_API_KEY || undefined,
    ...(dimensions === undefined || dimensions === '' ? {} : { dimensions: Number(dimensions) }),
    ...(weight === undefined || weight === '' ? {} : { searchWeight: Number(weight) }),
  });
}
