/** Agent files and scripts: bad input names the file, the line and the field; scripts run out cleanly. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { loadAgentBundle, loadAgentFile } from '../src/process/agent-definition.js';
import { testDatabases } from './support/databases.js';
import { testKernels } from './support/kernel.js';

function folderWith(files: Record<string, string>): string {
  const folder = mkdtempSync(join(tmpdir(), 'aos-agents-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

function errorOf(work: () => unknown): AosError {
  try {
    work();
  } catch (error) {
    if (error instanceof AosError) return error;
    throw error;
  }
  throw new Error('expected an AosError');
}

const script = 'turns:\n  - finish: ok\n';

describe('agent files', () => {
  it('parses a full definition and embeds its script', () => {
    const folder = folderWith({
      'a.yaml': script,
      'a.md':
        '---\nname: a\nmodel: scripted:./a.yaml\ntools: [finish]\nlimits: { max_steps: 5, max_wall_time: 1m }\npriority: 3\n---\nBe brief.\n',
    });
    const definition = loadAgentFile(join(folder, 'a.md'));
    expect(definition).toMatchObject({
      name: 'a',
      tools: ['finish'],
      priority: 3,
      prompt: 'Be brief.',
      limits: { max_steps: 5 },
    });
    expect(definition.script?.turns).toHaveLength(1);
  });

  it.each([
    ['no front matter', 'just text\n', /a\.md:1: missing YAML front matter/, 'invalid_input'],
    ['invalid YAML', '---\nname: a\nmodel: [unclosed\n---\nx\n', /a\.md:\d+: invalid YAML/, 'invalid_input'],
    [
      'an unknown field',
      '---\nname: a\nmodel: scripted:./a.yaml\ncolour: blue\n---\nx\n',
      /a\.md:\d+: field "colour"/,
      'invalid_input',
    ],
    [
      'a wrong type',
      '---\nname: a\nmodel: scripted:./a.yaml\nlimits:\n  max_steps: many\n---\nx\n',
      /a\.md:5: field "limits\.max_steps"/,
      'invalid_input',
    ],
    ['a missing model', '---\nname: a\n---\nx\n', /a\.md:\d+: field "model"/, 'invalid_input'],
    [
      'an unknown model prefix',
      '---\nname: a\nmodel: gemini:pro\n---\nx\n',
      /a\.md:3: field "model": unknown model "gemini:pro"/,
      'invalid_input',
    ],
    [
      'a missing script',
      '---\nname: a\nmodel: scripted:./nope.yaml\n---\nx\n',
      /cannot read script .*nope\.yaml/,
      'not_found',
    ],
    [
      'a bad duration',
      '---\nname: a\nmodel: scripted:./a.yaml\nlimits: { max_wall_time: soon }\n---\nx\n',
      /limits\.max_wall_time: "soon" is not a duration/,
      'invalid_input',
    ],
  ])('names the file, line and field for %s', (_, text, message, code) => {
    const folder = folderWith({ 'a.yaml': script, 'a.md': text });
    const error = errorOf(() => loadAgentFile(join(folder, 'a.md')));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
  });

  it('names the line and field of a bad script', () => {
    const folder = folderWith({
      'a.yaml': 'turns:\n  - text: fine\n  - tool_calls: [{ name: 3 }]\n',
      'a.md': '---\nname: a\nmodel: scripted:./a.yaml\n---\nx\n',
    });
    const error = errorOf(() => loadAgentFile(join(folder, 'a.md')));
    expect(error.message).toMatch(/a\.yaml:3: field "turns\.1\.tool_calls\.0\.name"/);
  });

  it('loads the agents an agent may spawn, recursively and once each', () => {
    const folder = folderWith({
      's.yaml': script,
      'top.md': '---\nname: top\nmodel: scripted:./s.yaml\nagents: [./mid.md]\n---\nx\n',
      'mid.md': '---\nname: mid\nmodel: scripted:./s.yaml\nagents: [./top.md, ./leaf.md]\n---\nx\n',
      'leaf.md': '---\nname: leaf\nmodel: scripted:./s.yaml\n---\nx\n',
    });
    const bundle = loadAgentBundle(join(folder, 'top.md'));
    expect(bundle.map((definition) => definition.name)).toEqual(['top', 'mid', 'leaf']);
    expect(bundle[1]!.agents).toEqual(['top', 'leaf']);
  });
});

describe.each(testDatabases)('bad input at run time on $name', (database) => {
  const start = testKernels(database);

  it('ends a process whose script ran out of turns with an error naming the script', async () => {
    const test = await start();
    const file = test.agent(
      'short',
      'tools: [sleep, finish]',
      'turns:\n  - tool_calls: [{ name: sleep, arguments: { duration: 1 } }]\n',
    );
    const { pid } = await test.kernel.call('spawn', { agent: file });
    const done = await test.kernel.call('wait', { pid, timeout: '20s' });
    expect(done.exitStatus).toBe(1);
    expect(done.error).toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/short\.yaml ran out of turns/),
    });
  });

  it('refuses at spawn an agent that names an unknown tool', async () => {
    const test = await start();
    const file = test.agent('tooly', 'tools: [finish, teleport]', script);
    const error = await test.kernel.call('spawn', { agent: file }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AosError);
    expect((error as AosError).code).toBe('invalid_input');
    expect((error as AosError).message).toMatch(/unknown tool "teleport"/);
  });

  it('answers a call to an unknown tool, or with bad arguments, with an error result and goes on', async () => {
    const test = await start();
    const file = test.agent(
      'clumsy',
      'tools: [sleep, finish]',
      [
        'turns:',
        '  - tool_calls: [{ name: teleport, arguments: {} }]',
        '  - tool_calls: [{ name: sleep, arguments: { duration: [1] } }]',
        '  - finish: "{{last}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await test.kernel.call('spawn', { agent: file });
    const done = await test.kernel.call('wait', { pid, timeout: '20s' });
    expect(done.exitStatus).toBe(0);
    expect(done.result).toMatch(/invalid_input: bad arguments for sleep at duration/);
    const failed = await test.kernel.db.query<{ output: { error: string } }>(
      "select output from aos.steps where pid = $1 and status = 'failed' order by seq",
      [pid],
    );
    expect(failed.rows[0]!.output.error).toMatch(
      /unknown tool "teleport"; this agent's tools are: sleep, finish/,
    );
  });
});
