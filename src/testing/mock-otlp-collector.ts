/**
 * A mock OpenTelemetry collector: an HTTP server that takes OTLP/HTTP trace exports in
 * JSON (POST /v1/traces, gzip or not), records them, and answers as a collector does
 * (200 with an empty partial-success body), or with a set error status. The spans it
 * received are given decoded: hex ids, attribute values as plain values, times in ns.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** An attribute value as plain JSON. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | { [key: string]: OtlpValue };

/** One span as the collector received it. */
export interface CollectedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
  attributes: Record<string, OtlpValue>;
  /** OTLP status code: 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  links: { traceId: string; spanId: string; attributes: Record<string, OtlpValue> }[];
  resource: Record<string, OtlpValue>;
  scope: { name: string; version?: string };
}

/** A running mock collector. */
export interface MockOtlpCollector {
  /** The base URL, for OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  /** The traces URL (url + /v1/traces). */
  tracesUrl: string;
  /** Export requests received: path, headers (lower-case names), body as parsed JSON. */
  requests: { path: string; headers: Record<string, string | string[] | undefined>; body: unknown }[];
  /** Every span received, in the order received. */
  spans(): CollectedSpan[];
  /** Resolves once at least `count` spans arrived; rejects after `timeoutMs` (default 10 s). */
  waitForSpans(count: number, timeoutMs?: number): Promise<CollectedSpan[]>;
  close(): Promise<void>;
}

/** Options of startMockOtlpCollector. */
export interface MockOtlpOptions {
  /** Answer every export with this HTTP status (e.g. 400, 503) and record nothing; default 200. */
  status?: number;
}

/** Starts a mock collector on 127.0.0.1 at a free port. */
export async function startMockOtlpCollector(options: MockOtlpOptions = {}): Promise<MockOtlpCollector> {
  const requests: MockOtlpCollector['requests'] = [];
  const received: CollectedSpan[] = [];
  const waiters = new Set<() => void>();
  const server = createServer((request, response) => {
    void readBody(request).then(
      (raw) => {
        if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/traces') {
          response.writeHead(404).end();
          return;
        }
        if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
          response.writeHead(415, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ code: 3, message: 'this mock collector takes OTLP JSON only' }));
          return;
        }
        if (options.status !== undefined && options.status !== 200) {
          response.writeHead(options.status, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ code: 14, message: `mock collector answers ${options.status}` }));
          return;
        }
        const text =
          request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
        const body = JSON.parse(text) as ExportRequest;
        requests.push({ path: request.url ?? '', headers: request.headers, body });
        received.push(...decodeSpans(body));
        for (const wake of waiters) wake();
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{}');
      },
      () => response.writeHead(400).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    tracesUrl: `${url}/v1/traces`,
    requests,
    spans: () => [...received],
    waitForSpans(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          cleanup();
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`mock collector: ${received.length} of ${count} spans after ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

interface KeyValue {
  key: string;
  value?: AnyValue;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}

interface ExportRequest {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: {
      scope?: { name?: string; version?: string };
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind?: number;
        startTimeUnixNano: string | number;
        endTimeUnixNano: string | number;
        attributes?: KeyValue[];
        status?: { code?: number; message?: string };
        links?: { traceId: string; spanId: string; attributes?: KeyValue[] }[];
      }[];
    }[];
  }[];
}

function decodeSpans(body: ExportRequest): CollectedSpan[] {
  return (body.resourceSpans ?? []).flatMap((resourceSpans) => {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    return (resourceSpans.scopeSpans ?? []).flatMap((scopeSpans) =>
      (scopeSpans.spans ?? []).map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? '',
        name: span.name,
        kind: span.kind ?? 0,
        startTimeUnixNano: BigInt(span.startTimeUnixNano),
        endTimeUnixNano: BigInt(span.endTimeUnixNano),
        attributes: attributesOf(span.attributes),
        status: {
          code: span.status?.code ?? 0,
          ...(span.status?.message ? { message: span.status.message } : {}),
        },
        links: (span.links ?? []).map((link) => ({
          traceId: link.traceId,
          spanId: link.spanId,
          attributes: attributesOf(link.attributes),
        })),
        resource,
        scope: {
          name: scopeSpans.scope?.name ?? '',
          ...(scopeSpans.scope?.version ? { version: scopeSpans.scope.version } : {}),
        },
      })),
    );
  });
}

function attributesOf(list: KeyValue[] | undefined): Record<string, OtlpValue> {
  return Object.fromEntries((list ?? []).map((entry) => [entry.key, plainValue(entry.value)]));
}

function plainValue(value: AnyValue | undefined): OtlpValue {
  if (value === undefined) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue !== undefined) return (value.arrayValue.values ?? []).map(plainValue);
  if (value.kvlistValue !== undefined) return attributesOf(value.kvlistValue.values);
  return null;
}
