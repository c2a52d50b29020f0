/** The OpenAI-compatible embedder against the mock embeddings server, and the environment's choice. */
import { afterEach, describe, expect, it } from 'vitest';
import { AosError } from '../errors.js';
import { type MockEmbeddingsServer, startMockEmbeddings } from '../testing/mock-embeddings-server.js';
import { embedderFromEnvironment } from './embedder-from-environment.js';
import { HashEmbedder } from './hash-embedder.js';
import { OpenAIEmbedder } from './openai-embedder.js';

const noRetries = { maxRetries: 0, baseDelayMs: 1, maxDelayMs: 1 };

async function failure(promise: Promise<unknown>): Promise<AosError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof AosError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('OpenAIEmbedder', () => {
  let server: MockEmbeddingsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('embeds in batches, in order, normalized, with the model, key and dimensions asked', async () => {
    server = await startMockEmbeddings({ apiKey: 'sekrit', dimensions: 8 });
    const embedder = new OpenAIEmbedder({
      model: 'text-embedding-3-small',
      baseUrl: `${server.url}/v1`,
      apiKey: 'sekrit',
      dimensions: 12,
      batchSize: 2,
    });
    expect(embedder.id).toBe('openai:text-embedding-3-small');
    const texts = ['the red fox', 'a blue whale', 'red red fox', ''];
    const vectors = await embedder.embed(texts);
    expect(vectors.map((vector) => vector.length)).toEqual([12, 12, 12, 12]);
    for (const vector of vectors) expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    const expected = server.vectorOf('red red fox', 12);
    const norm = Math.hypot(...expected);
    expect([...vectors[2]!].map((value) => Number(value.toFixed(5)))).toEqual(
      expected.map((value) => Number((value / norm).toFixed(5))),
    );
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.body).toMatchObject({
      model: 'text-embedding-3-small',
      input: ['the red fox', 'a blue whale'],
      dimensions: 12,
      encoding_format: 'float',
    });
    // An empty text is sent as a space (servers refuse empty inputs).
    expect(server.requests[1]!.body!.input).toEqual(['red red fox', ' ']);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sekrit');
  });

  it('is unavailable with a hint naming the variable: no key, a refused key, an unreachable endpoint, a missing model', async () => {
    const noKey = await failure(new OpenAIEmbedder({ model: 'text-embedding-3-small' }).embed(['x']));
    expect(noKey.code).toBe('unavailable');
    expect(noKey.hint).toContain('AOS_EMBEDDINGS_API_KEY');
    server = await startMockEmbeddings({ apiKey: 'right', models: ['known'] });
    const refused = await failure(
      new OpenAIEmbedder({
        model: 'known',
        baseUrl: `${server.url}/v1`,
        apiKey: 'wrong',
        retry: noRetries,
      }).embed(['x']),
    );
    expect(refused).toMatchObject({
      code: 'unavailable',
      hint: expect.stringContaining('AOS_EMBEDDINGS_API_KEY'),
    });
    const missing = await failure(
      new OpenAIEmbedder({
        model: 'unknown',
        baseUrl: `${server.url}/v1`,
        apiKey: 'right',
        retry: noRetries,
      }).embed(['x']),
    );
    expect(missing).toMatchObject({
      code: 'unavailable',
      hint: expect.stringContaining('AOS_EMBEDDINGS_MODEL'),
    });
    const closedUrl = server.url;
    await server.close();
    server = undefined;
    const unreachable = await failure(
      new OpenAIEmbedder({ model: 'known', baseUrl: `${closedUrl}/v1`, retry: noRetries }).embed(['x']),
    );
    expect(unreachable).toMatchObject({
      code: 'unavailable',
      hint: expect.stringContaining('AOS_EMBEDDINGS_BASE_URL'),
    });
    const badDimensions = await failure(
      new OpenAIEmbedder({ model: 'known', baseUrl: `${closedUrl}/v1`, dimensions: -3 }).embed(['x']),
    );
    expect(badDimensions).toMatchObject({
      code: 'invalid_input',
      hint: expect.stringContaining('AOS_EMBEDDINGS_DIMENSIONS'),
    });
  });

  it('retries a failing endpoint, honouring retry-after, and gives up as unavailable', async () => {
    server = await startMockEmbeddings({ fail: { status: 503, times: 2, retryAfterSeconds: 0 } });
    const retrying = new OpenAIEmbedder({
      model: 'm',
      baseUrl: `${server.url}/v1`,
      retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 5 },
    });
    expect(await retrying.embed(['hello'])).toHaveLength(1);
    expect(server.requests).toHaveLength(3);
    await server.close();
    server = await startMockEmbeddings({ fail: { status: 500 } });
    const failing = await failure(
      new OpenAIEmbedder({
        model: 'm',
        baseUrl: `${server.url}/v1`,
        retry: { maxRetries: 1, baseDelayMs: 1, maxDelayMs: 1 },
      }).embed(['x']),
    );
    expect(failing.code).toBe('unavailable');
    expect(server.requests).toHaveLength(2);
  });
});

describe('embedderFromEnvironment', () => {
  it('is the hashing embedder unless AOS_EMBEDDINGS_MODEL names a model', () => {
    expect(embedderFromEnvironment({})).toBeInstanceOf(HashEmbedder);
    expect(embedderFromEnvironment({ AOS_EMBEDDINGS_MODEL: 'hash' })).toBeInstanceOf(HashEmbedder);
    const remote = embedderFromEnvironment({
      AOS_EMBEDDINGS_MODEL: 'nomic-embed-text',
      OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
    });
    expect(remote).toBeInstanceOf(OpenAIEmbedder);
    expect(remote.id).toBe('openai:nomic-embed-text');
  });

  it('gives each embedder its weight in search: a tie-breaker for hashing, full weight for a model', () => {
    expect(embedderFromEnvironment({}).searchWeight).toBe(0.05);
    const model = { AOS_EMBEDDINGS_MODEL: 'm', OPENAI_BASE_URL: 'http://127.0.0.1:1/v1' };
    expect(embedderFromEnvironment(model).searchWeight).toBe(1);
    expect(embedderFromEnvironment({ ...model, AOS_EMBEDDINGS_WEIGHT: '0.3' }).searchWeight).toBe(0.3);
  });

  it('reads the base URL, key and dimensions, preferring the AOS_EMBEDDINGS_ variables', async () => {
    const server = await startMockEmbeddings({ apiKey: 'aos-key' });
    try {
      const embedder = embedderFromEnvironment({
        AOS_EMBEDDINGS_MODEL: 'm',
        AOS_EMBEDDINGS_BASE_URL: `${server.url}/v1`,
        OPENAI_BASE_URL: 'http://127.0.0.1:1/v1',
        AOS_EMBEDDINGS_API_KEY: 'aos-key',
        OPENAI_API_KEY: 'other',
        AOS_EMBEDDINGS_DIMENSIONS: '6',
      });
      const [vector] = await embedder.embed(['one two']);
      expect(vector).toHaveLength(6);
      expect(server.requests[0]!.body).toMatchObject({ dimensions: 6 });
    } finally {
      await server.close();
    }
  });
});
