/**
 * Embedders turn texts into vectors for memory search. Two implementations behind one
 * interface: feature hashing (offline, the default) and an OpenAI-compatible embeddings
 * endpoint (embedderFromEnvironment chooses; see docs/memory.md).
 */
/** Makes vectors from texts. */
export interface Embedder {
  /** Names the vectors it makes ("hash-v1", "openai:text-embedding-3-small"); with the length, the stored embedding model. */
  readonly id: string;
  /**
   * The weight of its vector list in the search's fusion when the search sets none
   * (`weights.vector`): how far its nearest neighbours are worth trusting against full text.
   * Default: defaultSearchWeights.vector (fusion.ts). See docs/memory.md#embedders.
   */
  readonly searchWeight?: number;
  /** One unit-length vector per text, in order; a text with nothing to embed gets a zero vector. */
  embed(texts: readonly string[], signal?: AbortSignal): Promise<Float32Array[]>;
}

/** The embedding model stored with a vector: the embedder and the vector's length ("hash-v1/256"). */
export function embeddingModelOf(embedder: Embedder, dimensions: number): string {
  return `${embedder.id}/${dimensions}`;
}

/** Scales a vector to unit length in place (a zero vector stays zero); returns it. */
export function normalize(vector: Float32Array): Float32Array {
  let sum = 0;
  for (const value of vector) sum += value * value;
  if (sum === 0) return vector;
  const scale = 1 / Math.sqrt(sum);
  for (let index = 0; index < vector.length; index++) vector[index] = vector[index]! * scale;
  return vector;
}

/** Whether a vector has no non-zero component. */
export function isZeroVector(vector: Float32Array): boolean {
  return vector.every((value) => value === 0);
}
