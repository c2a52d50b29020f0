/**
 * A mock OpenAI-compatible embeddings server for tests: POST /v1/embeddings in the wire
 * format of the official SDK (`encoding_format` float or base64, `dimensions`), with
 * deterministic vectors (bag of words hashed into `dimensions` buckets, so texts sharing
 * words are near), an optional API key, scripted failures, and a record of every request.
 *
 *   const server = await startMockEmbeddings({ dimensions: 16 });
 *   process.env.AOS_EMBEDDINGS_BASE_URL = `${server.url}/v1`;
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MockEmbeddingsOptions {
  /** Vector length when the request names none; default 16. */
  dimensions?: number;
  /** When set, requests without `Authorization: Bearer KEY` get a 401. */
  apiKey?: string;
  /** Model ids it serves; another model gets a 404. Default: any. */
  models?: string[];
  /** Answer the first `times` requests with this HTTP status (default times: every request). */
  fail?: { status: number; times?: number; retryAfterSeconds?: number };
  host?: string;
  port?: number;
}

/** One request as received. */
export interface EmbeddingsRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface MockEmbeddingsServer {
  /** http://host:port; the SDK's base URL is `${url}/v1`. */
  url: string;
  requests: EmbeddingsRequest[];
  /** The vector the server gives `text` (unnormalized), for expectations. */
  vectorOf(text: string, dimensions?: number): number[];
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1 and a free port. */
export async function startMockEmbeddings(
  options: MockEmbeddingsOptions = {},
): Promise<MockEmbeddingsServer> {
  const requests: EmbeddingsRequest[] = [];
  let failures = 0;
  const vectorOf = (text: string, dimensions = options.dimensions ?? 16) => {
    const vector = new Array<number>(dimensions).fill(0);
    for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      let hash = 2166136261;
      for (let index = 0; index < word.length; index++)
        hash = Math.imul(hash ^ word.charCodeAt(index), 16777619);
      vector[(hash >>> 0) % dimensions]! += 1;
    }
    // Never all zero: an OpenAI model embeds every input.
    vector[0]! += 0.01;
    return vector;
  };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const path = new URL(request.url ?? '/', 'http://mock').pathname;
      requests.push({ path, headers: request.headers, body });
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(payload));
      };
      const error = (status: number, message: string, type: string) =>
        send(status, { error: { message, type, param: null, code: null } });
      if (request.method !== 'POST' || path !== '/v1/embeddings') {
        return error(404, `no route ${request.method} ${path}`, 'invalid_request_error');
      }
      if (options.apiKey !== undefined && request.headers.authorization !== `Bearer ${options.apiKey}`) {
        return error(401, 'Incorrect API key provided.', 'invalid_request_error');
      }
      if (options.fail !== undefined && failures < (options.fail.times ?? Number.POSITIVE_INFINITY)) {
        failures += 1;
        const retry = options.fail.retryAfterSeconds;
        response.writeHead(options.fail.status, {
          'content-type': 'application/json',
          ...(retry === undefined ? {} : { 'retry-after': String(retry) }),
        });
        response.end(
          JSON.stringify({
            error: { message: 'Mock failure.', type: 'server_error', param: null, code: null },
          }),
        );
        return;
      }
      if (body === undefined || typeof body.model !== 'string') {
        return error(400, "Missing required parameter: 'model'.", 'invalid_request_error');
      }
      if (options.models !== undefined && !options.models.includes(body.model)) {
        return error(404, `The model \`${body.model}\` does not exist.`, 'invalid_request_error');
      }
      const input = typeof body.input === 'string' ? [body.input] : body.input;
      if (
        !Array.isArray(input) ||
        input.length === 0 ||
        input.some((text) => typeof text !== 'string' || text === '')
      ) {
        return error(
          400,
          "'input' must be a non-empty string or array of non-empty strings.",
          'invalid_request_error',
        );
      }
      const dimensions = typeof body.dimensions === 'number' ? body.dimensions : options.dimensions;
      const base64 = body.encoding_format === 'base64';
      const data = (input as string[]).map((text, index) => {
        const vector = vectorOf(text, dimensions);
        return {
          object: 'embedding',
          index,
          embedding: base64 ? Buffer.from(Float32Array.from(vector).buffer).toString('base64') : vector,
        };
      });
      const tokens = (input as string[]).reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
      send(200, {
        object: 'list',
        data,
        model: body.model,
        usage: { prompt_tokens: tokens, total_tokens: tokens },
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    requests,
    vectorOf,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
