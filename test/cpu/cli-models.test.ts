/**
 * `aos run` with openai: and anthropic: models, end to end from the CLI over HTTP to the
 * mock servers: the agent's tool calls come from the provider, usage and cost are
 * recorded, --model overrides the agent's model, and a missing key is `unavailable`.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { MockServer } from '../../src/testing/index.js';
import { startMockAnthropic } from '../../src/testing/mock-anthropic-server.js';
import { startMockOpenAI } from '../../src/testing/mock-openai-server.js';
import { type CliRun, runAos } from '../support/cli.js';

function folderWithAgent(model: string): string {
  const folder = mkdtempSync(join(tmpdir(), 'aos-models-'));
  writeFileSync(
    join(folder, 'asker.md'),
    `---\nname: asker\nmodel: ${model}\ntools: [sleep, finish]\n---\nAnswer briefly.\n`,
  );
  return folder;
}

/** Runs the CLI asynchronously (the mock server lives in this process and must keep answering). */
function aos(cwd: string, env: Record<string, string>, ...args: string[]): Promise<CliRun> {
  return runAos(cwd, args, env);
}

const replies = [
  { text: 'Thinking.', toolCalls: [{ name: 'sleep', arguments: { duration: 1 } }] },
  { toolCalls: [{ name: 'finish', arguments: { result: 'forty-two' } }] },
];

describe('aos run against mock providers over HTTP', () => {
  const servers: MockServer[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close();
  });

  it('runs an openai: agent, recording usage and cost', async () => {
    const server = await startMockOpenAI({ replies });
    servers.push(server);
    const folder = folderWithAgent('openai:gpt-mock');
    const env = { OPENAI_BASE_URL: `${server.url}/v1`, OPENAI_API_KEY: 'test' };
    expect(
      (await aos(folder, env, 'cpu', 'set', 'openai:*', '--input-price', '2', '--output-price', '8')).code,
    ).toBe(0);
    const run = await aos(folder, env, 'run', 'asker.md', 'what is six times seven?', '--json');
    expect(run.code, run.stderr).toBe(0);
    const process = JSON.parse(run.stdout);
    expect(process).toMatchObject({ exitStatus: 0, result: 'forty-two', steps: 4 });
    // Usage comes from the provider: its input tokens for both requests, plus output tokens.
    expect(process.tokens).toBeGreaterThan(server.stats.inputTokens);
    expect(process.cost).toBeGreaterThan(0);
    expect(server.requests).toHaveLength(2);
    expect(server.requests[0]!.body).toMatchObject({ model: 'gpt-mock', stream: true });
    expect(JSON.stringify(server.requests[0]!.body)).toContain('what is six times seven?');
  });

  it('runs the same agent on anthropic: with --model', async () => {
    const server = await startMockAnthropic({ replies });
    servers.push(server);
    const folder = folderWithAgent('openai:gpt-mock');
    const env = { ANTHROPIC_BASE_URL: server.url, ANTHROPIC_API_KEY: 'test' };
    const run = await aos(folder, env, 'run', 'asker.md', 'hi', '--model', 'anthropic:claude-mock', '--json');
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      exitStatus: 0,
      result: 'forty-two',
      model: 'anthropic:claude-mock',
    });
    expect(server.requests[0]!.body).toMatchObject({ model: 'claude-mock' });
  });

  it('refuses to spawn the process, naming the variable, when the key is missing', async () => {
    const folder = folderWithAgent('anthropic:claude-mock');
    const run = await aos(folder, { ANTHROPIC_API_KEY: '' }, 'run', 'asker.md', 'hi', '--json');
    expect(run.code).toBe(6);
    expect(JSON.parse(run.stderr).error).toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/ANTHROPIC_API_KEY is not set/),
    });
    const listed = await aos(folder, {}, 'ps', '--json');
    expect(JSON.parse(listed.stdout)).toEqual([]);
  });

  it('refuses an unknown model prefix as invalid input', async () => {
    const folder = folderWithAgent('gemini:pro');
    const run = await aos(folder, {}, 'run', 'asker.md', '--json');
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stderr).error.message).toMatch(
      /asker\.md:3: field "model": unknown model "gemini:pro"/,
    );
  });
});
