/**
 * OTLP export of decision traces, received by a mock collector: each process that exits
 * arrives as one trace (root span, steps as children, tool calls under the model call
 * that asked for them, journal times, GenAI attributes, links between parent and child),
 * ids are deterministic, and a collector that is down fails neither process nor worker.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { commands } from '../src/cli/commands.js';
import type { AosError } from '../src/errors.js';
import { packageRoot } from '../src/package-root.js';
import type { WorkerEvent } from '../src/process/worker.js';
import { databaseIdentity } from '../src/storage/database-identity.js';
import { type MockOtlpCollector, startMockOtlpCollector } from '../src/testing/index.js';
import { otlpOptionsFromEnv, spanIdOf, traceIdOf } from '../src/trust/otlp-export.js';
import type { Span } from '../src/trust/trace.js';
import { cliPath, runAos } from './support/cli.js';
import { testDatabases } from './support/databases.js';
import { eventually, type TestKernel, testKernels } from './support/kernel.js';

const parentScript = [
  'turns:',
  '  - text: napping first',
  '    tool_calls:',
  '      - { name: sleep, arguments: { duration: 1 } }',
  '      - { name: sleep, arguments: { duration: forever } }',
  '  - tool_calls: [{ name: spawn, arguments: { agent: otlp-child, input: go } }]',
  '  - tool_calls: [{ name: wait, arguments: { pid: "{{result.0.pid}}" } }]',
  '  - finish: done',
  '',
].join('\n');

const childScript = 'turns:\n  - tool_calls: [{ name: finish, arguments: { result: sorry, status: 3 } }]\n';

function flatten(spans: Span[]): Span[] {
  return spans.flatMap((span) => [span, ...flatten(span.children)]);
}

/** A port on 127.0.0.1 that nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Runs an agent that finishes at once; returns its pid. */
async function runQuick(test: TestKernel): Promise<number> {
  const file = test.agent('quick', 'tools: [finish]', 'turns:\n  - finish: ok\n');
  const { pid } = await test.kernel.call('spawn', { agent: file, input: 'x' });
  await test.kernel.call('wait', { pid, timeout: '20s' });
  return pid;
}

/** The error of `aos trace PID --otlp` (fails the test when there is none). */
async function exportError(test: TestKernel, pid: number): Promise<AosError> {
  const outcome = await test.kernel.call('trace', { pid, otlp: true }).then(
    () => undefined,
    (caught: unknown) => caught as AosError,
  );
  if (outcome === undefined) throw new Error(`trace --otlp of ${pid} succeeded`);
  return outcome;
}

async function stepCount(test: TestKernel, pid: number): Promise<number> {
  return flatten((await test.kernel.call('trace', { pid })).spans as Span[]).length;
}

describe.each(testDatabases)('OTLP export on $name', (database) => {
  const start = testKernels(database);
  let collector: MockOtlpCollector;
  beforeEach(async () => {
    collector = await startMockOtlpCollector();
  });
  afterEach(async () => {
    await collector.close();
  });

  it('sends each process that exits as one trace: steps under the process, tools under their model call', async () => {
    const errors: string[] = [];
    const onEvent = (event: WorkerEvent) => {
      if (event.type === 'error') errors.push(event.message);
    };
    const test = await start({ kernel: { otlp: { url: collector.tracesUrl } }, worker: { onEvent } });
    await test.kernel.call('cpu set', { name: 'scripted:*', inputPrice: 1, outputPrice: 2 });
    test.agent('otlp-child', 'tools: [finish]', childScript);
    const parentFile = test.agent(
      'otlp-parent',
      'tools: [sleep, spawn, wait, finish]\nagents: [./otlp-child.md]',
      parentScript,
    );
    const { pid } = await test.kernel.call('spawn', { agent: parentFile, input: 'go' });
    const done = await test.kernel.call('wait', { pid, timeout: '20s' });
    expect(done.exitStatus).toBe(0);
    const parentTrace = await test.kernel.call('trace', { pid });
    const parentSteps = flatten(parentTrace.spans as Span[]);
    const childPid = Number(
      parentSteps.find((span) => span.name === 'execute_tool spawn')!.attributes['aos.process.child_pid'],
    );
    expect(childPid).toBeGreaterThan(pid);
    const expected = parentSteps.length + 1 + (await stepCount(test, childPid)) + 1;
    const received = await collector.waitForSpans(expected);
    expect(received).toHaveLength(expected);
    expect(errors).toEqual([]);

    const identity = await databaseIdentity(test.kernel.db);
    const parentTraceId = traceIdOf(identity, pid);
    const childTraceId = traceIdOf(identity, childPid);
    expect(parentTraceId).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(received.map((span) => span.traceId))).toEqual(new Set([parentTraceId, childTraceId]));
    const parentSpans = received.filter((span) => span.traceId === parentTraceId);
    expect(parentSpans).toHaveLength(parentSteps.length + 1);

    // The root span: the process, with its totals, and the resource and scope of aos.
    const roots = parentSpans.filter((span) => span.parentSpanId === '');
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    const [row] = (await test.kernel.call('ps', { all: true })).filter((process) => process.pid === pid);
    expect(root).toMatchObject({
      spanId: spanIdOf(identity, pid),
      name: 'invoke_agent otlp-parent',
      kind: 1,
      status: { code: 0 },
      links: [],
      resource: { 'service.name': 'aos', 'aos.database.id': identity },
      scope: { name: 'aos' },
    });
    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'otlp-parent',
      'aos.process.pid': pid,
      'aos.process.owner': row!.owner,
      'aos.process.state': 'exited',
      'aos.process.exit_status': 0,
      'aos.usage.tokens': row!.tokens,
      'aos.cost_usd': row!.cost,
    });
    expect(root.attributes['aos.process.ppid']).toBeUndefined();
    expect(row!.tokens).toBeGreaterThan(0);
    expect(row!.cost).toBeGreaterThan(0);

    // Each step is a span with the journal's structure, times and attributes.
    const bySeq = new Map(
      parentSpans.filter((span) => span !== root).map((span) => [span.attributes['aos.step.seq'], span]),
    );
    const checkTree = (spans: Span[], parentId: string) => {
      for (const step of spans) {
        const span = bySeq.get(step.seq)!;
        expect(span, `step ${step.seq}`).toBeDefined();
        expect(span).toMatchObject({
          name: step.name,
          parentSpanId: parentId,
          spanId: spanIdOf(identity, pid, step.seq),
        });
        expect(span.attributes).toMatchObject(step.attributes);
        expect(span.startTimeUnixNano).toBe(BigInt(Date.parse(step.startedAt)) * 1_000_000n);
        expect(span.endTimeUnixNano - span.startTimeUnixNano).toBe(BigInt(step.durationMs ?? 0) * 1_000_000n);
        checkTree(step.children, span.spanId);
      }
    };
    checkTree(parentTrace.spans as Span[], root.spanId);
    const inJournalOrder = [...bySeq.values()].sort(
      (a, b) => Number(a.attributes['aos.step.seq']) - Number(b.attributes['aos.step.seq']),
    );
    const starts = inJournalOrder.map((span) => span.startTimeUnixNano);
    expect(starts).toEqual([...starts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(root.startTimeUnixNano <= starts[0]!).toBe(true);
    expect(root.endTimeUnixNano >= inJournalOrder.at(-1)!.endTimeUnixNano).toBe(true);

    // The first model call, and the two tool calls it asked for under it (one failed).
    const firstChat = inJournalOrder.find((span) => span.name.startsWith('chat '))!;
    expect(firstChat).toMatchObject({ parentSpanId: root.spanId, kind: 3 });
    expect(firstChat.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'scripted:./otlp-parent.yaml',
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
      'aos.lease.generation': expect.any(Number),
    });
    expect(firstChat.attributes['aos.cost_usd']).toBeGreaterThan(0);
    const naps = inJournalOrder.filter((span) => span.parentSpanId === firstChat.spanId);
    expect(naps.map((span) => span.name)).toEqual(['execute_tool sleep', 'execute_tool sleep']);
    expect(naps.map((span) => span.kind)).toEqual([1, 1]);
    expect(naps[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'sleep',
      'gen_ai.tool.call.id': expect.stringMatching(/./),
      'aos.step.status': 'done',
    });
    expect(naps[0]!.status.code).toBe(0);
    expect(naps[1]!.attributes).toMatchObject({ 'aos.step.status': 'failed', 'error.type': 'failed' });
    expect(naps[1]!.status.code).toBe(2);
    expect(naps[1]!.status.message).toMatch(/duration/);

    // Parent and child traces are linked both ways.
    const spawned = parentSpans.find((span) => span.name === 'execute_tool spawn')!;
    expect(spawned.links).toEqual([
      {
        traceId: childTraceId,
        spanId: spanIdOf(identity, childPid),
        attributes: { 'aos.link.type': 'child_process', 'aos.process.pid': childPid },
      },
    ]);
    const childRoot = received.find((span) => span.traceId === childTraceId && span.parentSpanId === '')!;
    expect(childRoot.attributes).toMatchObject({ 'aos.process.ppid': pid, 'aos.process.exit_status': 3 });
    expect(childRoot.links).toEqual([
      {
        traceId: parentTraceId,
        spanId: root.spanId,
        attributes: { 'aos.link.type': 'parent_process', 'aos.process.pid': pid },
      },
    ]);
    expect(childRoot.status.code).toBe(2);
    expect(childRoot.attributes['error.type']).toEqual(expect.any(String));

    // Exporting again on demand sends the same trace with the same ids.
    const again = await test.kernel.call('trace', { pid, otlp: true });
    expect(again.exported).toEqual({
      traceId: parentTraceId,
      spans: parentSpans.length,
      endpoint: collector.tracesUrl,
    });
    const resent = collector.spans().slice(expected);
    expect(resent.map((span) => span.spanId).sort()).toEqual(parentSpans.map((span) => span.spanId).sort());
    expect(resent.every((span) => span.traceId === parentTraceId)).toBe(true);
  });

  it('keeps a process and its worker going when the collector is down, and says so', async () => {
    const events: WorkerEvent[] = [];
    const url = `http://127.0.0.1:${await deadPort()}/v1/traces`;
    const test = await start({
      kernel: { otlp: { url, timeoutMillis: 500 } },
      worker: { onEvent: (event) => events.push(event) },
    });
    const file = test.agent(
      'lonely',
      'tools: [sleep, finish]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]\n  - finish: fine\n',
    );
    const { pid } = await test.kernel.call('spawn', { agent: file, input: 'x' });
    const done = await test.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, result: 'fine' });
    const failure = await eventually('the export error event', async () =>
      events.find((event) => event.type === 'error' && event.pid === pid),
    );
    expect(failure).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/^trace export failed: the OTLP collector at/),
    });
    // The worker still runs processes.
    const next = await test.kernel.call('spawn', { agent: file, input: 'y' });
    expect((await test.kernel.call('wait', { pid: next.pid, timeout: '20s' })).exitStatus).toBe(0);
    const error = await exportError(test, pid);
    expect(error.code).toBe('unavailable');
    expect(error.message).toContain(url);
    expect(error.hint).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('is unavailable when the collector refuses the export', async () => {
    const refusing = await startMockOtlpCollector({ status: 400 });
    try {
      const test = await start({ kernel: { otlp: { url: refusing.tracesUrl } } });
      const refused = await exportError(test, await runQuick(test));
      expect(refused.code).toBe('unavailable');
      expect(refused.message).toMatch(/did not take the trace/);
    } finally {
      await refusing.close();
    }
  });

  it('is unavailable with a hint when no endpoint is set', async () => {
    const test = await start({ kernel: { otlp: false } });
    expect(test.kernel.otlp).toBeUndefined();
    const error = await exportError(test, await runQuick(test));
    expect(error).toMatchObject({ code: 'unavailable', message: 'no OTLP endpoint is set' });
    expect(error.hint).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT/);
    const unknown = await exportError(test, 4242);
    expect(unknown.code).toBe('not_found');
  });
});

describe('OTLP configuration and ids', () => {
  it('reads the standard variables', () => {
    expect(otlpOptionsFromEnv({})).toBeUndefined();
    expect(otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toEqual({
      url: 'http://collector:4318/v1/traces',
    });
    expect(
      otlpOptionsFromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://traces:9999/custom',
      }),
    ).toEqual({ url: 'http://traces:9999/custom' });
    expect(
      otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBeUndefined();
    expect(
      otlpOptionsFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }),
    ).toBeUndefined();
    expect(
      otlpOptionsFromEnv({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_EXPORTER: 'console,otlp',
      }),
    ).toEqual({
      url: 'http://c:4318/v1/traces',
    });
  });

  it('derives ids from the database identity and the pid, the same each time', () => {
    const a = '0b7c1f3e-2a4d-4c59-9e1f-1a2b3c4d5e6f';
    const b = '9f8e7d6c-5b4a-4392-8a1b-0c1d2e3f4a5b';
    expect(traceIdOf(a, 7)).toBe(traceIdOf(a, 7));
    expect(traceIdOf(a, 7)).not.toBe(traceIdOf(a, 8));
    expect(traceIdOf(a, 7)).not.toBe(traceIdOf(b, 7));
    expect(spanIdOf(a, 7)).toMatch(/^[0-9a-f]{16}$/);
    expect(spanIdOf(a, 7, 1)).not.toBe(spanIdOf(a, 7));
    expect(spanIdOf(a, 7, 1)).not.toBe(spanIdOf(a, 7, 2));
  });
});

describe('aos with OTEL_EXPORTER_OTLP_ENDPOINT (the compiled CLI, embedded database)', () => {
  beforeAll(() => {
    if (!existsSync(cliPath)) execFileSync('npx', ['tsc', '-p', packageRoot()], { stdio: 'inherit' });
  });

  it('aos run exports the process as it exits; aos trace --otlp sends it again and says how many spans, or exits 6', async () => {
    const collector = await startMockOtlpCollector();
    try {
      const folder = mkdtempSync(join(tmpdir(), 'aos-otlp-'));
      writeFileSync(
        join(folder, 'napper.yaml'),
        'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]\n  - finish: "rested {{input}}"\n',
      );
      writeFileSync(
        join(folder, 'napper.md'),
        '---\nname: napper\nmodel: scripted:./napper.yaml\ntools: [sleep, finish]\n---\nYou nap.\n',
      );
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20t0ken',
        OTEL_SERVICE_NAME: 'my-agents',
      };
      const run = await runAos(folder, ['run', 'napper.md', 'Ada', '--json'], env);
      expect(run.code, run.stderr).toBe(0);
      const { pid } = JSON.parse(run.stdout) as { pid: number };
      // The run's own worker exported the trace before the command exited.
      const exported = collector.spans();
      expect(exported.length).toBeGreaterThanOrEqual(5);
      const root = exported.find((span) => span.parentSpanId === '')!;
      expect(root).toMatchObject({ name: 'invoke_agent napper', resource: { 'service.name': 'my-agents' } });
      expect(root.attributes).toMatchObject({ 'aos.process.pid': pid, 'aos.process.exit_status': 0 });
      expect(collector.requests[0]!.headers.authorization).toBe('Bearer t0ken');

      const text = await runAos(folder, ['trace', String(pid), '--otlp'], env);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain(
        `sent ${exported.length} spans to ${collector.tracesUrl} (trace ${root.traceId})`,
      );
      const json = await runAos(folder, ['trace', String(pid), '--otlp', '--json'], env);
      expect(json.code, json.stderr).toBe(0);
      const output = commands
        .find((command) => command.name === 'trace')!
        .output.parse(JSON.parse(json.stdout));
      expect(output).toMatchObject({
        pid,
        exported: { traceId: root.traceId, spans: exported.length, endpoint: collector.tracesUrl },
      });
      expect(collector.spans()).toHaveLength(exported.length * 3);

      const unset = await runAos(folder, ['trace', String(pid), '--otlp', '--json']);
      expect(unset.code).toBe(6);
      expect(unset.stdout).toBe('');
      expect(JSON.parse(unset.stderr)).toMatchObject({
        error: {
          code: 'unavailable',
          status: 503,
          message: 'no OTLP endpoint is set',
          hint: expect.any(String),
        },
      });
    } finally {
      await collector.close();
    }
  }, 180_000);
});
