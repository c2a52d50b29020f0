/**
 * A failing device as processes see it, on every test database, through the openai: driver
 * against the mock server (and a port where nothing listens): a process parks on a device that
 * refuses connections (waiting, reason device, with the error and the next try) and finishes
 * when it comes back; `on_device_failure: fail` and `max_outage` fail the call instead; wall
 * time and `model_timeout` abort a call that never answers; usage a server did not report is
 * journaled as estimated; the limits a provider announces reach the device; and a missing API
 * key fails the spawn, naming the variable.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createModelResolver } from '../src/cpu/resolve-model.js';
import { AosError } from '../src/errors.js';
import type { MockOptions, MockServer } from '../src/testing/index.js';
import { startMockAnthropic } from '../src/testing/mock-anthropic-server.js';
import { startMockOpenAI } from '../src/testing/mock-openai-server.js';
import { testDatabases } from './support/databases.js';
import { eventually, type TestKernel, testKernels } from './support/kernel.js';

/** A port on this machine where nothing listens: connections to it are refused. */
async function refusingPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

const fastRetries = createModelResolver({ retry: { maxRetries: 1, baseDelayMs: 10, maxDelayMs: 30_000 } });

const finishAtOnce: MockOptions = {
  replies: [{ toolCalls: [{ name: 'finish', arguments: { result: 'done' } }] }],
};

describe.each(testDatabases)('a failing device on $name', (database) => {
  const start = testKernels(database);
  let server: MockServer | undefined;
  const saved = {
    url: process.env.OPENAI_BASE_URL,
    key: process.env.OPENAI_API_KEY,
    anthropicUrl: process.env.ANTHROPIC_BASE_URL,
    anthropicKey: process.env.ANTHROPIC_API_KEY,
  };

  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const [name, value] of [
      ['OPENAI_BASE_URL', saved.url],
      ['OPENAI_API_KEY', saved.key],
      ['ANTHROPIC_BASE_URL', saved.anthropicUrl],
      ['ANTHROPIC_API_KEY', saved.anthropicKey],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  function pointAt(url: string): void {
    process.env.OPENAI_BASE_URL = `${url}/v1`;
    process.env.OPENAI_API_KEY = 'test';
  }

  async function kernel(): Promise<TestKernel> {
    return start({ kernel: { models: fastRetries } });
  }

  async function processRow(t: TestKernel, pid: number) {
    const result = await t.kernel.db.query<{
      state: string;
      wait_reason: string | null;
      wait_detail: {
        calls?: { reason: string; device: string; error?: { code: string }; nextTry: string }[];
      };
      exit_status: number | null;
      error: { code: string; message: string } | null;
    }>('select state, wait_reason, wait_detail, exit_status, error from aos.processes where pid = $1', [pid]);
    return result.rows[0]!;
  }

  it('parks a process on a device that refuses connections, and finishes it when the device is back', async () => {
    const port = await refusingPort();
    pointAt(`http://127.0.0.1:${port}`);
    const t = await kernel();
    const file = t.modelAgent('patient', 'openai:mock-model', 'tools: [finish]');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    const parked = await eventually('the park', async () => {
      const row = await processRow(t, pid);
      return row.state === 'waiting' && row.wait_reason === 'device' ? row : undefined;
    });
    const call = parked.wait_detail.calls?.[0];
    expect(call?.device).toBe('openai:mock-model');
    expect(call?.error?.code).toBe('unavailable');
    expect(Number.isNaN(Date.parse(call?.nextTry ?? ''))).toBe(false);
    const devices = await t.kernel.call('cpu', {});
    expect(devices.find((device) => device.name === 'openai:mock-model')).toMatchObject({
      state: 'down',
      parked: 1,
    });
    server = await startMockOpenAI({ ...finishAtOnce, port });
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done.exitStatus).toBe(0);
    const models = await t.kernel.db.query<{ status: string }>(
      "select status from aos.steps where pid = $1 and kind = 'model'",
      [pid],
    );
    expect(models.rows.map((row) => row.status)).toEqual(['done']);
    expect(server.stats.completions).toBe(1);
    const after = await t.kernel.call('cpu', {});
    expect(after.find((device) => device.name === 'openai:mock-model')?.state).toBe('up');
  });

  it('parks a process on an Anthropic device that refuses connections, and finishes it when it is back', async () => {
    const port = await refusingPort();
    process.env.ANTHROPIC_BASE_URL = `http://127.0.0.1:${port}`;
    process.env.ANTHROPIC_API_KEY = 'test';
    const t = await kernel();
    const file = t.modelAgent('patient', 'anthropic:claude-mock', 'tools: [finish]');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    await eventually('the park', async () => {
      const row = await processRow(t, pid);
      return row.state === 'waiting' && row.wait_reason === 'device' ? row : undefined;
    });
    server = await startMockAnthropic({ ...finishAtOnce, port });
    expect((await t.kernel.call('wait', { pid, timeout: '60s' })).exitStatus).toBe(0);
    expect(server.stats.completions).toBe(1);
  });

  it('fails the call instead with on_device_failure: fail', async () => {
    pointAt(`http://127.0.0.1:${await refusingPort()}`);
    const t = await kernel();
    const file = t.modelAgent('hasty', 'openai:mock-model', 'tools: [finish]\non_device_failure: fail');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done.exitStatus).toBe(1);
    const models = await t.kernel.db.query<{ status: string; output: { error: { code: string } } }>(
      "select status, output from aos.steps where pid = $1 and kind = 'model'",
      [pid],
    );
    expect(models.rows).toHaveLength(1);
    expect(models.rows[0]).toMatchObject({ status: 'failed', output: { error: { code: 'unavailable' } } });
  });

  it('fails the call once the outage has lasted max_outage', async () => {
    pointAt(`http://127.0.0.1:${await refusingPort()}`);
    const t = await kernel();
    const file = t.modelAgent('bounded', 'openai:mock-model', 'tools: [finish]\nmax_outage: 1500ms');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    await eventually('the park', async () => {
      const row = await processRow(t, pid);
      return row.state === 'waiting' && row.wait_reason === 'device' ? row : undefined;
    });
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done.exitStatus).toBe(1);
    expect((await processRow(t, pid)).error?.code).toBe('unavailable');
  });

  it('aborts a call in flight at the end of the wall time', async () => {
    server = await startMockOpenAI({ ...finishAtOnce, latencyMs: 600_000 });
    pointAt(server.url);
    const t = await kernel();
    const file = t.modelAgent('slow', 'openai:mock-model', 'tools: [finish]\nlimits: { max_wall_time: 3s }');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    // The answer would take ten minutes: only an aborted call lets the process end within the wait.
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done.exitStatus).toBe(152);
    expect(server.stats.completions).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  it('aborts a call in flight when the TERM grace is over', async () => {
    server = await startMockOpenAI({ ...finishAtOnce, latencyMs: 600_000 });
    pointAt(server.url);
    const t = await kernel();
    const file = t.modelAgent(
      'stubborn',
      'openai:mock-model',
      'tools: [finish]\nsignals: { term_grace_time: 1s }',
    );
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    await eventually('the call in flight', async () => (server!.requests.length > 0 ? true : undefined));
    await t.kernel.call('kill', { pid, signal: 'TERM' });
    // The answer would take ten minutes: only aborted calls let the process end within the wait.
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done.exitStatus).toBe(137);
    expect(server.stats.completions).toBe(0);
  });

  it('aborts a call that takes longer than model_timeout, as the device failing', async () => {
    server = await startMockOpenAI({ ...finishAtOnce, latencyMs: 600_000 });
    pointAt(server.url);
    const t = await kernel();
    const file = t.modelAgent(
      'impatient',
      'openai:mock-model',
      'tools: [finish]\nmodel_timeout: 500ms\non_device_failure: fail',
    );
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done.exitStatus).toBe(1);
    const models = await t.kernel.db.query<{
      output: { error: { code: string; details: { reason: string } } };
    }>("select output from aos.steps where pid = $1 and kind = 'model'", [pid]);
    expect(models.rows[0]?.output.error).toMatchObject({
      code: 'timeout',
      details: { reason: 'model_timeout' },
    });
  });

  it('journals usage the server did not report as counted and estimated', async () => {
    server = await startMockOpenAI({
      replies: [{ toolCalls: [{ name: 'finish', arguments: { result: 'done' } }], usage: false }],
    });
    pointAt(server.url);
    const t = await kernel();
    const file = t.modelAgent('local', 'openai:mock-model', 'tools: [finish]');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    expect((await t.kernel.call('wait', { pid, timeout: '60s' })).exitStatus).toBe(0);
    const models = await t.kernel.db.query<{ usage: { inputTokens: number; estimated?: boolean } }>(
      "select usage from aos.steps where pid = $1 and kind = 'model'",
      [pid],
    );
    expect(models.rows[0]?.usage.estimated).toBe(true);
    expect(models.rows[0]?.usage.inputTokens).toBeGreaterThan(0);
    const counted = await t.kernel.db.query<{ tokens_used: number }>(
      'select tokens_used from aos.processes where pid = $1',
      [pid],
    );
    expect(Number(counted.rows[0]?.tokens_used)).toBeGreaterThan(0);
  });

  it('keeps the limits a provider announces on the device', async () => {
    server = await startMockOpenAI({
      replies: [
        {
          toolCalls: [{ name: 'finish', arguments: { result: 'done' } }],
          headers: { 'x-ratelimit-limit-requests': '300', 'x-ratelimit-limit-tokens': '40000' },
        },
      ],
    });
    pointAt(server.url);
    const t = await kernel();
    await t.kernel.call('cpu set', { name: 'openai:*', rpm: 500 });
    const file = t.modelAgent('told', 'openai:mock-model', 'tools: [finish]');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    expect((await t.kernel.call('wait', { pid, timeout: '60s' })).exitStatus).toBe(0);
    const devices = await t.kernel.call('cpu', {});
    expect(devices.find((device) => device.name === 'openai:*')).toMatchObject({
      requestsPerMinute: 500,
      announcedRequestsPerMinute: 300,
      announcedTokensPerMinute: 40_000,
    });
  });

  it("pages out and asks again when vLLM's bare 400 says the context is too long", async () => {
    let answers = 0;
    let rejected = false;
    server = await startMockOpenAI({
      replies: (request) => {
        const messages = (request.body.messages ?? []) as { role: string; content: string | null }[];
        const summary =
          String(messages[0]?.content ?? '').includes('summarise') ||
          String(messages.at(-1)?.content ?? '').startsWith('[aos] Paging out');
        if (summary) return { text: 'Noted things.' };
        answers += 1;
        if (answers <= 3)
          return { toolCalls: [{ name: 'todo', arguments: { items: [{ text: `item ${answers}` }] } }] };
        if (!rejected) {
          rejected = true;
          return {
            error: {
              status: 400,
              body: {
                object: 'error',
                message:
                  "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens. Please reduce the length of the messages.",
                type: 'BadRequestError',
                param: null,
                code: 400,
              },
            },
          };
        }
        return { toolCalls: [{ name: 'finish', arguments: { result: 'done' } }] };
      },
    });
    pointAt(server.url);
    const t = await kernel();
    const file = t.modelAgent('crowded', 'openai:mock-model', 'tools: [todo, finish]');
    const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
    const done = await t.kernel.call('wait', { pid, timeout: '60s' });
    expect(done, JSON.stringify(done.error)).toMatchObject({ exitStatus: 0, result: 'done' });
    const failed = await t.kernel.db.query<{
      output: { error: { message: string; details: { reason: string } } };
    }>("select output from aos.steps where pid = $1 and kind = 'model' and status = 'failed'", [pid]);
    expect(failed.rows).toHaveLength(1);
    expect(failed.rows[0]?.output.error.details.reason).toBe('context_length');
    expect(failed.rows[0]?.output.error.message).toContain('maximum context length is 4096 tokens');
    expect((await t.kernel.call('pages', { pid })).length).toBeGreaterThan(0);
  });

  it('refuses to spawn a process whose model has no API key, naming the variable', async () => {
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;
    const t = await kernel();
    const file = t.modelAgent('keyless', 'openai:gpt-4o-mini', 'tools: [finish]');
    const error = await t.kernel
      .call('spawn', { agent: file, input: 'go' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AosError);
    expect((error as AosError).code).toBe('unavailable');
    expect((error as AosError).message).toContain('OPENAI_API_KEY');
    const rows = await t.kernel.db.query('select pid from aos.processes');
    expect(rows.rowCount).toBe(0);
  });
});
