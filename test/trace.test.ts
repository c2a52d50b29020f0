/** aos trace: the journal as spans with GenAI attributes, tool calls nested under the model call that asked. */
import { describe, expect, it } from 'vitest';
import type { AosError } from '../src/errors.js';
import { testDatabases } from './support/databases.js';
import { testKernels } from './support/kernel.js';

describe.each(testDatabases)('trace on $name', (database) => {
  const start = testKernels(database);

  it('nests tool calls under their model call, with tokens, cost and latency', async () => {
    const test = await start();
    await test.kernel.call('cpu set', { name: 'scripted:*', inputPrice: 1, outputPrice: 2 });
    const file = test.agent(
      'traced',
      'tools: [sleep, finish]',
      'turns:\n  - delay_ms: 200\n    text: thinking\n    tool_calls: [{ name: sleep, arguments: { duration: 1 } }, { name: sleep, arguments: { duration: 2 } }]\n  - finish: done\n',
    );
    const { pid } = await test.kernel.call('spawn', { agent: file, input: 'go' });
    await test.kernel.call('wait', { pid, timeout: '20s' });
    const trace = await test.kernel.call('trace', { pid });
    expect(trace).toMatchObject({ pid, agent: 'traced', state: 'exited', exitStatus: 0 });
    expect(trace.spans.map((span: { name: string }) => span.name)).toEqual([
      'spawn',
      'chat scripted:./traced.yaml',
      'chat scripted:./traced.yaml',
    ]);
    const first = trace.spans[1] as {
      durationMs: number;
      attributes: Record<string, unknown>;
      children: { name: string; attributes: Record<string, unknown> }[];
    };
    expect(first.durationMs).toBeGreaterThanOrEqual(150);
    expect(first.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'scripted:./traced.yaml',
      'gen_ai.usage.input_tokens': expect.any(Number),
      'gen_ai.usage.output_tokens': expect.any(Number),
    });
    expect(first.attributes['aos.cost_usd']).toBeGreaterThan(0);
    expect(first.children.map((child) => child.name)).toEqual(['execute_tool sleep', 'execute_tool sleep']);
    expect(first.children[0]!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'sleep',
    });
  });

  it('is not_found for an unknown pid', async () => {
    const test = await start();
    const error = await test.kernel.call('trace', { pid: 4242 }).catch((caught: unknown) => caught);
    expect((error as AosError).code).toBe('not_found');
  });
});
