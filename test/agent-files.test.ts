/** Agent files and scripts: bad input names the file, the line and the field; scripts run out cleanly. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { loadAgentBundle, loadAgentFile } from '../src/process/agent-definition.js';
import { testDatabases } from './support/databases.js';
import { testKernels } from './support/kernel.js';
import { toolError } from './support/tool-errors.js';

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
    [
      'invalid YAML',
      '---\nname: a\nmodel: scripted:./a.yaml\n  bad: indent\n---\nx\n',
      /a\.md:3: invalid YAML: Nested mappings are not allowed in compact mappings$/,
      'invalid_input',
    ],
    [
      'an unclosed flow sequence',
      '---\nname: a\nmodel: scripted:./a.yaml\ntools: [finish\npriority: 1\n---\nx\n',
      /a\.md:5: invalid YAML: Flow sequence .* end with a \]$/,
      'invalid_input',
    ],
    [
      'an unknown field',
      '---\nname: a\nmodel: scripted:./a.yaml\ntools: [finish]\ncolour: blue\n---\nx\n',
      /a\.md:5: field "colour": Unrecognized key: "colour"/,
      'invalid_input',
    ],
    [
      'an unknown nested field',
      '---\nname: a\nmodel: scripted:./a.yaml\nlimits:\n  max_steps: 3\n  max_stepz: 4\n---\nx\n',
      /a\.md:6: field "limits\.max_stepz": Unrecognized key: "max_stepz"/,
      'invalid_input',
    ],
    [
      'a wrong type',
      '---\nname: a\nmodel: scripted:./a.yaml\nlimits:\n  max_steps: many\n---\nx\n',
      /a\.md:5: field "limits\.max_steps": .*expected number/,
      'invalid_input',
    ],
    [
      'a wrong type at the top',
      '---\nname: a\nmodel: scripted:./a.yaml\ntools: [finish]\npriority: high\n---\nx\n',
      /a\.md:5: field "priority": .*expected number/,
      'invalid_input',
    ],
    ['a missing model', '---\nname: a\n---\nx\n', /a\.md:2: field "model"/, 'invalid_input'],
    [
      'an unknown model prefix',
      '---\nname: a\ntools: [finish]\nmodel: gemini:pro\n---\nx\n',
      /a\.md:4: field "model": unknown model "gemini:pro"/,
      'invalid_input',
    ],
    [
      'a missing script',
      '---\nname: a\ntools: [finish]\nmodel: scripted:./nope.yaml\n---\nx\n',
      /a\.md:4: field "model": cannot read script .*nope\.yaml/,
      'not_found',
    ],
    [
      'a bad duration',
      '---\nname: a\nmodel: scripted:./a.yaml\nlimits: { max_wall_time: soon }\n---\nx\n',
      /a\.md:4: field "limits\.max_wall_time": "soon" is not a duration/,
      'invalid_input',
    ],
    [
      'a bad grace time',
      '---\nname: a\nmodel: scripted:./a.yaml\nsignals:\n  term_grace_steps: 2\n  term_grace_time: later\n---\nx\n',
      /a\.md:6: field "signals\.term_grace_time": "later" is not a duration/,
      'invalid_input',
    ],
  ])('names the file, line and field for %s', (_, text, message, code) => {
    const folder = folderWith({ 'a.yaml': script, 'a.md': text });
    const error = errorOf(() => loadAgentFile(join(folder, 'a.md')));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(join(folder, 'a.md'))).toBe(true);
    expect(error.hint).toBeTruthy();
  });

  it.each([
    [
      'a wrong type',
      'turns:\n  - text: fine\n  - tool_calls: [{ name: 3 }]\n',
      /a\.yaml:3: field "turns\.1\.tool_calls\.0\.name"/,
    ],
    [
      'an unknown key in a turn',
      'turns:\n  - text: fine\n    colour: red\n',
      /a\.yaml:3: field "turns\.0\.colour": Unrecognized key/,
    ],
    [
      'an unknown top-level key',
      'delay_ms: 5\nturns:\n  - text: x\nspeed: 3\n',
      /a\.yaml:4: field "speed": Unrecognized key/,
    ],
    [
      'a bad match',
      'turns:\n  - text: x\n  - match: "/(/"\n    text: y\n',
      /a\.yaml:3: field "turns\.1\.match": invalid regular expression/,
    ],
    ['invalid YAML', 'turns:\n  - finish: ok\n  - text: [x\n  - text: y\n', /a\.yaml:4: invalid YAML/],
    ['no turns', 'turns: []\n', /a\.yaml:1: field "turns"/],
  ])('names the line and field of a script with %s', (_, text, message) => {
    const folder = folderWith({ 'a.yaml': text, 'a.md': '---\nname: a\nmodel: scripted:./a.yaml\n---\nx\n' });
    const error = errorOf(() => loadAgentFile(join(folder, 'a.md')));
    expect(error.code).toBe('invalid_input');
    expect(error.message).toMatch(message);
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
      'tools: [sleep, recv, send, finish]',
      [
        'turns:',
        '  - tool_calls: [{ name: teleport, arguments: {} }]',
        '  - tool_calls: [{ name: sleep, arguments: { duration: [1] } }]',
        '  - tool_calls: [{ name: sleep, arguments: { duration: soon } }]',
        '  - tool_calls: [{ name: recv, arguments: { timeout: later } }]',
        '  - tool_calls: [{ name: send, arguments: { pid: 999999, message: hello } }]',
        '  - finish: "{{last}}"',
        '',
      ].join('\n'),
    );
    const { pid } = await test.kernel.call('spawn', { agent: file });
    const done = await test.kernel.call('wait', { pid, timeout: '20s' });
    expect(done).toMatchObject({ exitStatus: 0, error: null });
    expect(toolError(done.result)).toMatchObject({
      code: 'not_found',
      message: 'no process with pid 999999',
    });
    const failed = await test.kernel.db.query<{
      name: string;
      output: { content: string; isError?: boolean };
    }>(
      "select name, output from aos.steps where pid = $1 and kind = 'tool' and status = 'failed' order by seq",
      [pid],
    );
    // Each error result is the envelope: code, message and hint, never "code: message" text.
    const results = failed.rows.map((row) => {
      const error = toolError(row.output.content);
      return `${row.name}: ${row.output.isError === true ? `${error.code}: ${error.message}` : 'not an error'}`;
    });
    expect(results).toEqual([
      'teleport: invalid_input: unknown tool "teleport"',
      expect.stringMatching(/^sleep: invalid_input: bad arguments for sleep at duration: /),
      expect.stringMatching(/^sleep: invalid_input: bad arguments for sleep at duration: not a duration/),
      expect.stringMatching(/^recv: invalid_input: bad arguments for recv at timeout: not a duration/),
      'send: not_found: no process with pid 999999',
    ]);
    expect(toolError(failed.rows[0]!.output.content).hint).toBe(
      'the tools here are: sleep, recv, send, finish',
    );
  });
});
