/**
 * An embedder on an OpenAI-compatible embeddings endpoint (POST /v1/embeddings: OpenAI,
 * Ollama, vLLM, llama.cpp, LM Studio...), through the official SDK, in batches, with the
 * same retries and error classes as the chat drivers. A missing key or an unreachable
 * endpoint is `unavailable`, with a hint naming the variable to set.
 */
import OpenAI from 'openai';
import { type ProviderInfo, providerError } from '../cpu/provider-error.js';
import { defaultRetryPolicy, type RetryPolicy, withRetries } from '../cpu/retry.js';
import { AosError } from '../errors.js';
import { type Embedder, normalize } from './embedder.js';

export interface OpenAIEmbedderOptions {
  /** The model, e.g. text-embedding-3-small, nomic-embed-text. */
  model: string;
  /** Default: OpenAI's own (https://api.openai.com/v1). */
  baseUrl?: string | undefined;
  /** Required for OpenAI's own endpoint; optional for a local server. */
  apiKey?: string | undefined;
  /** Asks the endpoint for vectors of this length (text-embedding-3 models support it). */
  dimensions?: number | undefined;
  /** Texts per request; default 128. */
  batchSize?: number;
  /** Per attempt; default 60 s. */
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** The vector list's weight in the search's fusion when a search sets none; default 1. */
  searchWeight?: number | undefined;
}

const defaultBaseUrl = 'https://api.openai.com/v1';

/** Embeddings from an OpenAI-compatible endpoint; vectors are normalized to unit length. */
export class OpenAIEmbedder implements Embedder {
  readonly id: string;
  /** A trained model is a retriever of its own: as much weight as full text unless set (`searchWeight`). */
  readonly searchWeight: number;
  private readonly options: OpenAIEmbedderOptions;
  private readonly provider: ProviderInfo;
  private client: OpenAI | undefined;

  constructor(options: OpenAIEmbedderOptions) {
    this.options = options;
    this.id = `openai:${options.model}`;
    this.searchWeight = options.searchWeight ?? 1;
    this.provider = {
      name: 'the embeddings endpoint',
      baseUrl: options.baseUrl ?? defaultBaseUrl,
      keyVariable: 'AOS_EMBEDDINGS_API_KEY (or OPENAI_API_KEY)',
      urlVariable: 'AOS_EMBEDDINGS_BASE_URL (or OPENAI_BASE_URL)',
    };
  }

  async embed(texts: readonly string[], signal: AbortSignal = new AbortController().signal) {
    const client = this.connect();
    const batchSize = this.options.batchSize ?? 128;
    const vectors: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += batchSize) {
      // An empty string is refused by some servers; it has nothing to embed anyway.
      const batch = texts.slice(start, start + batchSize).map((text) => (text.trim() === '' ? ' ' : text));
      const response = await withRetries(
        () =>
          client.embeddings.create(
            {
              model: this.options.model,
              input: batch,
              encoding_format: 'float',
              ...(this.options.dimensions === undefined ? {} : { dimensions: this.options.dimensions }),
            },
            { signal },
          ),
        (error) => this.classify(error),
        this.options.retry ?? defaultRetryPolicy,
        signal,
      );
      const data = [...response.data].sort((left, right) => left.index - right.index);
      if (data.length !== batch.length || data.some((item) => !Array.isArray(item.embedding))) {
        throw new AosError(
          'unavailable',
          `${this.provider.name} at ${this.provider.baseUrl} returned ${data.length} embeddings for ${batch.length} texts`,
          { hint: 'the endpoint does not speak the OpenAI embeddings format; check AOS_EMBEDDINGS_BASE_URL' },
        );
      }
      for (const item of data) vectors.push(normalize(Float32Array.from(item.embedding)));
    }
    return vectors;
  }

  private connect(): OpenAI {
    if (this.client !== undefined) return this.client;
    const { apiKey, baseUrl, dimensions } = this.options;
    if (dimensions !== undefined && !(Number.isInteger(dimensions) && dimensions > 0)) {
      throw new AosError(
        'invalid_input',
        `embedding dimensions must be a positive integer, not ${dimensions}`,
        {
          hint: 'fix AOS_EMBEDDINGS_DIMENSIONS, or unset it to take the model’s own length',
        },
      );
    }
    if ((apiKey === undefined || apiKey === '') && (baseUrl === undefined || baseUrl === defaultBaseUrl)) {
      throw new AosError('unavailable', `no API key for the embeddings model ${this.options.model}`, {
        hint: 'set AOS_EMBEDDINGS_API_KEY (or OPENAI_API_KEY), or AOS_EMBEDDINGS_BASE_URL for a local server',
      });
    }
    this.client = new OpenAI({
      apiKey: apiKey || 'not-needed',
      baseURL: baseUrl ?? defaultBaseUrl,
      timeout: this.options.timeoutMs ?? 60_000,
      maxRetries: 0,
    });
    return this.client;
  }

  private classify(error: unknown): AosError {
    const classified = providerError(error, this.provider);
    if (classified.code !== 'not_found') return classified;
    return new AosError('unavailable', classified.message, {
      hint: `the endpoint has no model "${this.options.model}"; check AOS_EMBEDDINGS_MODEL`,
      retryable: false,
      cause: error,
    });
  }
}
