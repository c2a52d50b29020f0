/**
 * Devices: each model endpoint (a model string, or a prefix such as "openai:*")
 * with its limits (concurrent requests, requests and tokens per minute) and prices.
 * They live in aos.devices, so every worker on every machine shares them, and the
 * grants that ration them live in aos.cpu_grants (a sliding one-minute window).
 */
import { z } from 'zod';
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import type { Usage } from './model.js';

/** A device as the APIs show it. Prices are USD per million tokens. */
export const deviceSchema = z.object({
  name: z.string(),
  maxConcurrent: z.number().int().nullable(),
  requestsPerMinute: z.number().int().nullable(),
  tokensPerMinute: z.number().int().nullable(),
  announcedRequestsPerMinute: z
    .number()
    .int()
    .nullable()
    .describe('requests per minute the provider announced in its headers; the lower limit applies'),
  announcedTokensPerMinute: z
    .number()
    .int()
    .nullable()
    .describe('tokens per minute the provider announced in its headers; the lower limit applies'),
  inputPrice: z.number(),
  cachedInputPrice: z.number(),
  cacheWritePrice: z.number(),
  outputPrice: z.number(),
});

export type Device = z.infer<typeof deviceSchema>;

interface DeviceRow {
  name: string;
  max_concurrent: number | null;
  requests_per_minute: number | null;
  tokens_per_minute: number | null;
  announced_requests_per_minute: number | null;
  announced_tokens_per_minute: number | null;
  input_price: string | number;
  cached_input_price: string | number;
  cache_write_price: string | number;
  output_price: string | number;
}

function toDevice(row: DeviceRow): Device {
  return {
    name: row.name,
    maxConcurrent: row.max_concurrent,
    requestsPerMinute: row.requests_per_minute,
    tokensPerMinute: row.tokens_per_minute,
    announcedRequestsPerMinute: row.announced_requests_per_minute ?? null,
    announcedTokensPerMinute: row.announced_tokens_per_minute ?? null,
    inputPrice: Number(row.input_price),
    cachedInputPrice: Number(row.cached_input_price),
    cacheWritePrice: Number(row.cache_write_price),
    outputPrice: Number(row.output_price),
  };
}

/** The device for a model string (exact name, else longest matching prefix), if any. */
export async function deviceFor(db: Queryable, model: string): Promise<Device | undefined> {
  const result = await db.query<DeviceRow>('select * from aos.device_for($1) where name is not null', [
    model,
  ]);
  const row = result.rows[0];
  return row === undefined ? undefined : toDevice(row);
}

/** Whether a device rations requests at all: limits of its own, or announced by its provider. */
export function isRationed(device: Device | undefined): device is Device {
  return (
    device !== undefined &&
    (device.maxConcurrent !== null ||
      device.requestsPerMinute !== null ||
      device.tokensPerMinute !== null ||
      device.announcedRequestsPerMinute !== null ||
      device.announcedTokensPerMinute !== null)
  );
}

/** Creates or updates a device; fields left undefined keep their value (null clears a limit). */
export async function setDevice(
  db: Queryable,
  name: string,
  changes: Partial<Omit<Device, 'name' | 'announcedRequestsPerMinute' | 'announcedTokensPerMinute'>>,
): Promise<Device> {
  if (!/^[a-z]+:(\*|[^*\s]+\*?)$/.test(name)) {
    throw new AosError('invalid_input', `device "${name}" is not a model string or a prefix ending in *`, {
      hint: 'examples: openai:gpt-4o-mini, openai:*, anthropic:claude-*',
    });
  }
  const result = await db.query<DeviceRow>(
    `insert into aos.devices as d (name, max_concurrent, requests_per_minute, tokens_per_minute,
                                   input_price, cached_input_price, cache_write_price, output_price)
     values ($1, $2::int, $3::int, $4::int, coalesce($5::numeric, 0), coalesce($6::numeric, 0), coalesce($7::numeric, 0), coalesce($8::numeric, 0))
     on conflict (name) do update set
       max_concurrent = case when $9 then excluded.max_concurrent else d.max_concurrent end,
       requests_per_minute = case when $10 then excluded.requests_per_minute else d.requests_per_minute end,
       tokens_per_minute = case when $11 then excluded.tokens_per_minute else d.tokens_per_minute end,
       input_price = coalesce($5::numeric, d.input_price),
       cached_input_price = coalesce($6::numeric, d.cached_input_price),
       cache_write_price = coalesce($7::numeric, d.cache_write_price),
       output_price = coalesce($8::numeric, d.output_price),
       updated_at = now()
     returning *`,
    [
      name,
      changes.maxConcurrent ?? null,
      changes.requestsPerMinute ?? null,
      changes.tokensPerMinute ?? null,
      changes.inputPrice ?? null,
      changes.cachedInputPrice ?? null,
      changes.cacheWritePrice ?? null,
      changes.outputPrice ?? null,
      changes.maxConcurrent !== undefined,
      changes.requestsPerMinute !== undefined,
      changes.tokensPerMinute !== undefined,
    ],
  );
  return toDevice(result.rows[0]!);
}

/** Live use of a device over the last minute, and its state (the circuit breaker's, migration 0018). */
export interface DeviceUse {
  requestsLastMinute: number;
  tokensLastMinute: number;
  inFlight: number;
  waiting: number;
  state: 'up' | 'down';
  downSince: Date | null;
  lastError: { code: string; message: string; status?: number } | null;
  nextProbeAt: Date | null;
  /** Processes parked until the device answers again. */
  parked: number;
}

/** Every configured device, and every model string whose calls failed, with live use and state. */
export async function listDevices(db: Queryable): Promise<(Device & DeviceUse)[]> {
  const result = await db.query<
    DeviceRow & {
      requests: number;
      tokens: number;
      in_flight: number;
      waiting: number;
      state: 'up' | 'down' | null;
      down_since: Date | null;
      last_error: DeviceUse['lastError'];
      next_probe_at: Date | null;
      parked: number;
    }
  >(
    `with known as (
       select d.name, d.max_concurrent, d.requests_per_minute, d.tokens_per_minute,
              d.announced_requests_per_minute, d.announced_tokens_per_minute,
              d.input_price, d.cached_input_price, d.cache_write_price, d.output_price
         from aos.devices d
       union all
       select h.device, null, null, null, null, null, 0, 0, 0, 0
         from aos.device_health h where not exists (select 1 from aos.devices d where d.name = h.device))
     select k.*, h.state, h.down_since, h.last_error, h.next_probe_at,
            (select count(*) from aos.cpu_grants g where g.device = k.name and g.granted_at > now() - interval '60 seconds') as requests,
            (select coalesce(sum(tokens), 0) from aos.cpu_grants g where g.device = k.name and g.granted_at > now() - interval '60 seconds') as tokens,
            (select count(*) from aos.cpu_grants g where g.device = k.name and g.finished_at is null and g.granted_at > now() - interval '10 minutes') as in_flight,
            (select count(*) from aos.processes p where p.device = k.name and p.state = 'waiting' and p.wait_reason = 'rate-limit') as waiting,
            (select count(*) from aos.processes p where p.device = k.name and p.state = 'waiting' and p.wait_reason = 'device') as parked
       from known k left join aos.device_health h on h.device = k.name
      order by k.name`,
  );
  return result.rows.map((row) => ({
    ...toDevice(row),
    requestsLastMinute: Number(row.requests),
    tokensLastMinute: Number(row.tokens),
    inFlight: Number(row.in_flight),
    waiting: Number(row.waiting),
    state: row.state ?? 'up',
    downSince: row.state === 'down' ? row.down_since : null,
    lastError: row.last_error,
    nextProbeAt: row.state === 'down' ? row.next_probe_at : null,
    parked: Number(row.parked),
  }));
}

/**
 * The cost of one model call in nano-dollars (1e-9 USD), computed in integers so totals
 * match the price table exactly: uncached input, cached input, cache writes and output
 * each at their own price.
 */
export function costNanos(device: Device | undefined, usage: Usage): number {
  if (device === undefined) return 0;
  const cached = usage.cachedInputTokens ?? 0;
  const written = usage.cacheCreationInputTokens ?? 0;
  const uncached = Math.max(0, usage.inputTokens - cached - written);
  // 1 USD per million tokens = 1000 nano-dollars per token.
  const perToken = (price: number) => Math.round(price * 1000);
  return (
    uncached * perToken(device.inputPrice) +
    cached * perToken(device.cachedInputPrice) +
    written * perToken(device.cacheWritePrice) +
    usage.outputTokens * perToken(device.outputPrice)
  );
}

/** A grant of the device to one request, or when to ask again. */
export type Acquired = { granted: true; grantId: number } | { granted: false; retryAt: Date };

/**
 * Asks the device for a slot for a request of about `tokens` input tokens. With `mayDefer`
 * (the process has made a model call in this slice already), the slot goes to a fairer
 * process instead when one is ready or parked for the device: one of higher priority, or of
 * equal priority that has consumed fewer tokens (virtual runtime). Then the answer is to try
 * again now, after the others: the process parks, and claims go by priority then vruntime.
 */
export async function acquireCpu(
  db: Queryable,
  device: string,
  pid: number,
  tokens: number,
  mayDefer = false,
): Promise<Acquired> {
  const result = await db.query<{ grant_id: number | null; retry_at: Date | null }>(
    'select * from aos.acquire_cpu($1, $2, $3, $4)',
    [device, pid, tokens, mayDefer],
  );
  const row = result.rows[0]!;
  if (row.grant_id !== null) return { granted: true, grantId: row.grant_id };
  return { granted: false, retryAt: new Date(row.retry_at ?? Date.now() + 200) };
}

/** Ends a grant with the tokens the provider counted. */
export async function releaseCpu(db: Queryable, grantId: number, tokens: number | null): Promise<void> {
  await db.query('select aos.release_cpu($1, $2)', [grantId, tokens]);
}
