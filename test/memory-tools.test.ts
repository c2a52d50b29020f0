/** The memory tools (remember, recall, forget: the earlier names of mem_add, recall, mem_forget) used by agents whose scripted CPU calls them, on both databases. */
import { describe, expect, it } from 'vitest';
import { HashEmbedder } from '../src/memory/hash-embedder.js';
import { addMemories, listMemories } from '../src/memory/memory-store.js';
import { testDatabases } from './support/databases.js';
import { eventually, journaledToolCalls, testKernels } from './support/kernel.js';
import { toolError } from './support/tool-errors.js';

describe.each(testDatabases)('memory tools on $name', (database) => {
  const start = testKernels(database);

  it('remembers in the agent namespace, recalls by query and by id, forgets, and refuses other namespaces', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'keeper',
      'tools: [remember, recall, forget, finish]',
      [
        'turns:',
        '  - tool_calls:',
        '      - { name: remember, arguments: { text: "The deploy key is kept in vault B", kind: fact, id: deploy, importance: 0.9 } }',
        '      - { name: remember, arguments: { text: "A passing note", thread: chat } }',
        '      - { name: remember, arguments: { text: "Not mine to write", namespace: "agent:someone-else" } }',
        '  - tool_calls:',
        '      - { name: recall, arguments: { query: "where is the deploy key kept?" } }',
        '      - { name: recall, arguments: { id: deploy } }',
        '      - { name: recall, arguments: { query: "anything", namespace: "owner:nobody" } }',
        '  - tool_calls:',
        '      - { name: forget, arguments: { id: deploy } }',
        '      - { name: recall, arguments: { id: deploy } }',
        '      - { name: forget, arguments: { id: deploy, namespace: "process:999999" } }',
        '  - finish: done',
        '',
      ].join('\n'),
    );
    const { pid } = await kernel.call('spawn', { agent: file });
    expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({
      exitStatus: 0,
      result: 'done',
    });
    const steps = await journaledToolCalls(kernel, pid);
    expect(steps.map((step) => [step.name, step.isError])).toEqual([
      ['remember', false],
      ['remember', false],
      ['remember', true],
      ['recall', false],
      ['recall', false],
      ['recall', true],
      ['forget', false],
      ['recall', false],
      ['forget', true],
    ]);
    expect(JSON.parse(steps[0]!.content)).toEqual({ namespace: 'agent:keeper', id: 'deploy' });
    expect(toolError(steps[2]!.content)).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/may use only the namespaces .*, not "agent:someone-else"$/),
    });
    const found = JSON.parse(steps[3]!.content) as { id: string; text: string; namespace: string }[];
    expect(found[0]).toMatchObject({
      id: 'deploy',
      namespace: 'agent:keeper',
      text: 'The deploy key is kept in vault B',
    });
    expect(JSON.parse(steps[4]!.content)).toEqual([
      expect.objectContaining({ id: 'deploy', kind: 'fact', score: null }),
    ]);
    expect(toolError(steps[5]!.content)).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/not "owner:nobody"$/),
    });
    expect(JSON.parse(steps[6]!.content)).toEqual({
      namespace: 'agent:keeper',
      id: 'deploy',
      forgotten: true,
    });
    // Forgotten: recall finds no memory with that id any more (a search for the word finds no fact).
    expect((JSON.parse(steps[7]!.content) as { id: string }[]).map((each) => each.id)).not.toContain(
      'deploy',
    );
    expect(toolError(steps[8]!.content)).toMatchObject({
      code: 'forbidden',
      message: expect.stringMatching(/not "process:999999"$/),
    });
    // What is left: the note, with its source process and thread; nothing was written elsewhere.
    const left = await listMemories(kernel.db, {});
    expect(left.map((memory) => [memory.namespace, memory.text, memory.sourcePid, memory.thread])).toEqual([
      ['agent:keeper', 'A passing note', pid, 'chat'],
    ]);
  });

  it('recalls across runs of the agent and from the owner namespace, and writes to its own process namespace when told', async () => {
    const { kernel, agent } = await start();
    await addMemories(
      kernel.db,
      'owner:local',
      [{ id: 'pref', text: 'The owner prefers answers in French', kind: 'fact' }],
      {
        embedder: new HashEmbedder(),
      },
    );
    const writer = agent(
      'diarist',
      'tools: [remember, recall, finish]',
      [
        'turns:',
        '  - match: /^first/',
        '    tool_calls: [{ name: remember, arguments: { text: "We chose PostgreSQL for the queue" } }]',
        '  - match: \'"namespace":"agent:diarist"\'',
        '    finish: wrote',
        '  - tool_calls:',
        '      - { name: recall, arguments: { query: "which database did we choose for the queue" } }',
        '      - { name: recall, arguments: { query: "language the owner prefers", namespace: "owner:local" } }',
        '      - { name: remember, arguments: { text: "scratch for this run only", namespace: "process:{{input}}" } }',
        '  - finish: "{{result.0.0.text}} / {{result.1.0.id}}"',
        '',
      ].join('\n'),
    );
    const first = await kernel.call('spawn', { agent: writer, input: 'first' });
    expect(await kernel.call('wait', { pid: first.pid, timeout: '30s' })).toMatchObject({ result: 'wrote' });
    // The second run names its own pid in its input, so the script can write to process:PID.
    const second = await kernel.call('spawn', { agent: writer, input: String(first.pid + 1) });
    expect(second.pid).toBe(first.pid + 1);
    expect(await kernel.call('wait', { pid: second.pid, timeout: '30s' })).toMatchObject({
      exitStatus: 0,
      result: 'We chose PostgreSQL for the queue / pref',
    });
    const scratch = await listMemories(kernel.db, { namespace: `process:${second.pid}` });
    expect(scratch.map((memory) => memory.text)).toEqual(['scratch for this run only']);
  });
  it('writes an episode to the agent namespace at exit when the agent asks, and a later run recalls it', async () => {
    const { kernel, agent } = await start();
    const file = agent(
      'chronicler',
      'tools: [recall, finish]\nmemory: { episode: true }',
      [
        'turns:',
        '  - match: /^first/',
        '    finish: "the answer is 42"',
        '  - match: /^second/',
        '    tool_calls: [{ name: recall, arguments: { query: "what was the answer" } }]',
        '  - finish: "{{result.0.0.id}}"',
        '',
      ].join('\n'),
    );
    const first = await kernel.call('spawn', { agent: file, input: 'first task: find the answer' });
    expect(await kernel.call('wait', { pid: first.pid, timeout: '30s' })).toMatchObject({ exitStatus: 0 });
    // Episodes are exit effects, written by a worker right after the exit (src/process/exit-effects.ts).
    const episodes = await eventually('the first episode', async () => {
      const found = await listMemories(kernel.db, { namespace: 'agent:chronicler' }).catch(() => []);
      return found.length > 0 ? found : undefined;
    });
    expect(episodes).toHaveLength(1);
    expect(episodes[0]).toMatchObject({ id: `episode-${first.pid}`, kind: 'episode', sourcePid: first.pid });
    expect(episodes[0]!.text).toContain('first task: find the answer');
    expect(episodes[0]!.text).toContain('the answer is 42');
    expect(episodes[0]!.text).toContain('finish ×1');

    const second = await kernel.call('spawn', { agent: file, input: 'second task' });
    expect(await kernel.call('wait', { pid: second.pid, timeout: '30s' })).toMatchObject({
      exitStatus: 0,
      result: `episode-${first.pid}`,
    });

    // A run that fails leaves an episode that says how it ended (this script has no turn for it).
    const failing = agent(
      'stumbler',
      'tools: [finish]\nmemory: { episode: true }',
      ['turns:', '  - match: /never/', '    finish: x', ''].join('\n'),
    );
    const third = await kernel.call('spawn', { agent: failing, input: 'try' });
    expect((await kernel.call('wait', { pid: third.pid, timeout: '30s' })).exitStatus).toBe(1);
    const failed = await eventually('the failed run episode', async () => {
      const found = await listMemories(kernel.db, { namespace: 'agent:stumbler' }).catch(() => []);
      return found.length > 0 ? found : undefined;
    });
    expect(failed.map((memory) => memory.id)).toEqual([`episode-${third.pid}`]);
    expect(failed[0]!.text).toMatch(/it failed with status 1 \(/);

    // Without the field, no episode.
    const quiet = agent('quiet', 'tools: [finish]', ['turns:', '  - finish: done', ''].join('\n'));
    const run = await kernel.call('spawn', { agent: quiet });
    await kernel.call('wait', { pid: run.pid, timeout: '30s' });
    await expect(listMemories(kernel.db, { namespace: 'agent:quiet' })).rejects.toMatchObject({
      code: 'not_found',
    });
  });
});
