/**
 * The memory manager on PGlite and the server. Property tests over random runs (huge
 * tool outputs included): no request passes the window, no tool call is separated from
 * its result, the pinned prefix never changes, every paged-out message comes back
 * exactly. Then the needle test, offloading, the todo list, a window too small, the
 * provider's own context-length rejection, and aos context / pages / recall.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Message, ModelDriver, ModelRequest } from '../src/cpu/model.js';
import { createModelResolver } from '../src/cpu/resolve-model.js';
import { TokenCounter } from '../src/cpu/token-counter.js';
import { readFile } from '../src/fs/read-file.js';
import { defineTool, textResult } from '../src/io/tool.js';
import { createKernel } from '../src/kernel.js';
import { listMemories } from '../src/memory/memory-store.js';
import { searchMemories } from '../src/memory/search.js';
import { startMockOpenAI } from '../src/testing/mock-openai-server.js';
import { testDatabases } from './support/databases.js';
import { type TestKernel, testKernels } from './support/kernel.js';

const counter = new TokenCounter();

/** Deterministic filler text of about `tokens` tokens, different for each seed. */
function filler(tokens: number, seed: number): string {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  const out: string[] = [];
  let state = seed * 7919 + 17;
  for (let index = 0; index < tokens; index++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    out.push(`${words[state % words.length]}${state % 97}`);
    if (index % 12 === 11) out.push('\n');
  }
  return out.join(' ');
}

/** A tool that returns about `tokens` tokens of text. */
const produce = defineTool({
  name: 'produce',
  description: 'Produces text of about the given number of tokens.',
  input: z.object({
    tokens: z.number().int().min(1),
    seed: z.number().int().default(0),
    label: z.string().default(''),
  }),
  annotations: { readOnly: true, idempotent: true },
  async run(input) {
    return textResult(`${input.label}${input.label === '' ? '' : '\n'}${filler(input.tokens, input.seed)}`);
  },
});

/** Wraps the default resolver so every request a driver gets is recorded, by pid-less order. */
function recordingModels(requests: ModelRequest[]) {
  const inner = createModelResolver();
  return (definition: Parameters<typeof inner>[0], model: string): ModelDriver => {
    const driver = inner(definition, model);
    return {
      complete(request, options) {
        requests.push(structuredClone(request));
        return driver.complete(request, options);
      },
    };
  };
}

function requestTokens(request: ModelRequest): number {
  let total = counter.count(request.system) + counter.count(JSON.stringify(request.tools));
  for (const message of request.messages) {
    total += 4 + counter.count(message.content);
    if (message.role === 'assistant' && message.toolCalls)
      total += counter.count(JSON.stringify(message.toolCalls));
  }
  return total;
}

/** A script of `turns` produce calls with sizes from `sizes`, then a finish. */
function produceScript(sizes: number[]): string {
  const turns = sizes.map(
    (tokens, index) =>
      `  - text: "Step ${index + 1}: producing ${tokens} tokens."\n    tool_calls: [{ name: produce, arguments: { tokens: ${tokens}, seed: ${index} } }]`,
  );
  return `turns:\n${turns.join('\n')}\n  - finish: done\n`;
}

/** Random sizes: mostly small, some large, some larger than the whole window. */
function randomSizes(seed: number, count: number, window: number): number[] {
  let state = seed;
  const next = () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
  return Array.from({ length: count }, () => {
    const roll = next();
    if (roll < 0.08) return Math.round(window * (1.1 + next()));
    if (roll < 0.25) return Math.round(window * 0.15 * next()) + 50;
    return Math.round(40 + 300 * next());
  });
}

/** Whether a mock request asks for a page's summary (with its own prompt, or with the agent's context and aos's instruction last). */
function isSummaryRequest(messages: readonly { role: string; content: string | null }[]): boolean {
  return (
    String(messages[0]?.content ?? '').includes('summarise') ||
    String(messages.at(-1)?.content ?? '').startsWith('[aos] Paging out')
  );
}

/** Sets OPENAI_BASE_URL and OPENAI_API_KEY for `url`; returns what puts them back. */
function useOpenAI(url: string): () => void {
  const previous = { url: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY };
  process.env.OPENAI_BASE_URL = `${url}/v1`;
  process.env.OPENAI_API_KEY = 'test';
  return () => {
    if (previous.url === undefined) delete process.env.OPENAI_BASE_URL;
    else process.env.OPENAI_BASE_URL = previous.url;
    if (previous.key === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = previous.key;
  };
}

describe.each(testDatabases)('the memory manager on $name', (database) => {
  const start = testKernels(database);

  async function kernelWithRecorder(
    requests: ModelRequest[],
  ): Promise<TestKernel & { stopOther(): Promise<void> }> {
    const t = await start({ startWorker: false });
    const kernel = await createKernel({
      db: t.kernel.db,
      tools: [produce],
      models: recordingModels(requests),
      migrate: false,
    });
    const worker = kernel.createWorker({ concurrency: 4, leaseMs: 2000, pollMs: 50, quantumMs: 60_000 });
    await worker.start();
    return Object.assign(t, { kernel, stopOther: () => worker.stop(1000) }) as never;
  }

  it('never passes the window, keeps tool calls with their results and the prefix fixed, and loses nothing (random runs)', async () => {
    for (const seed of [11, 23, 37]) {
      const requests: ModelRequest[] = [];
      const t = await kernelWithRecorder(requests);
      try {
        const window = 4000;
        const sizes = randomSizes(seed, 30, window);
        const file = t.agent(
          `random${seed}`,
          `tools: [produce, recall, finish]\ncontext: { window: ${window} }`,
          produceScript(sizes),
        );
        const { pid } = await t.kernel.call('spawn', { agent: file, input: `run ${seed}` });
        const done = await t.kernel.call('wait', { pid, timeout: '120s' });
        expect(done, JSON.stringify(done.error)).toMatchObject({ exitStatus: 0 });
        const mine = requests.filter((request) => request.messages[0]?.content === `run ${seed}`);
        expect(mine.length).toBe(sizes.length + 1);
        const first = mine[0]!;
        // The page table only grows: a page-out appends a stub and leaves the ones before it byte-identical.
        const pageTable = (request: ModelRequest) =>
          request.messages.filter(
            (message) =>
              message.role === 'notice' &&
              (message.content.startsWith('[aos] Earlier parts') ||
                message.content.startsWith('[aos] Also paged out')),
          );
        for (let index = 1; index < mine.length; index++) {
          const before = pageTable(mine[index - 1]!);
          expect(pageTable(mine[index]!).slice(0, before.length)).toEqual(before);
        }
        expect(pageTable(mine.at(-1)!).length).toBeGreaterThan(1);
        for (const request of mine) {
          expect(requestTokens(request)).toBeLessThanOrEqual(window);
          // The pinned prefix: the same system prompt, tools and task, byte for byte.
          expect(request.system).toBe(first.system);
          expect(JSON.stringify(request.tools)).toBe(JSON.stringify(first.tools));
          expect(request.messages[0]).toEqual(first.messages[0]);
          // Every tool result follows its call, and every call has its result (but the last turn's, made after).
          const calls = new Map<string, number>();
          request.messages.forEach((message, index) => {
            if (message.role === 'assistant')
              for (const call of message.toolCalls ?? []) calls.set(call.id, index);
          });
          for (const [index, message] of request.messages.entries()) {
            if (message.role === 'tool') {
              expect(calls.has(message.toolCallId)).toBe(true);
              expect(calls.get(message.toolCallId)!).toBeLessThan(index);
            }
          }
          const results = new Set(request.messages.flatMap((m) => (m.role === 'tool' ? [m.toolCallId] : [])));
          for (const id of calls.keys()) expect(results.has(id)).toBe(true);
        }
        // Nothing lost: the pages hold, in order, exactly the messages that left the working set.
        const pages = await listMemories(t.kernel.db, {
          namespace: `process:${pid}`,
          kind: 'page',
          thread: 'context',
          limit: 1000,
        });
        expect(pages.length).toBeGreaterThan(0);
        const paged = pages.flatMap((page) => (page.meta as { messages: Message[] }).messages);
        const lastRequest = mine.at(-1)!;
        const stillThere = lastRequest.messages.filter(
          (message) => message.role === 'assistant' || message.role === 'tool',
        );
        const transcript = [...paged, ...stillThere];
        const answers = transcript.filter((message) => message.role === 'assistant');
        expect(answers).toHaveLength(sizes.length);
        expect(answers.map((message) => message.content)).toEqual(
          sizes.map((tokens, index) => `Step ${index + 1}: producing ${tokens} tokens.`),
        );
        for (const page of pages) {
          const messages = (page.meta as { messages: Message[] }).messages;
          for (const message of messages) expect(page.text).toContain(message.content);
        }
      } finally {
        await t.stopOther();
      }
    }
  }, 400_000);

  it('brings 50 facts stated early back with recall, in the top 5 for at least 95% of them (the needle test)', async () => {
    const requests: ModelRequest[] = [];
    const t = await kernelWithRecorder(requests);
    try {
      const facts = Array.from({ length: 50 }, (_, index) => ({
        fact: `The access code of vault ${index + 1} in the ${['north', 'south', 'east', 'west', 'central'][index % 5]} wing is ${1000 + index * 37}.`,
        question: `What is the access code of vault ${index + 1}?`,
        code: String(1000 + index * 37),
      }));
      const turns = [
        ...facts.map(
          (entry, index) =>
            `  - text: "Noting fact ${index + 1}."\n    tool_calls: [{ name: produce, arguments: { tokens: 20, seed: ${index}, label: ${JSON.stringify(entry.fact)} } }]`,
        ),
        ...Array.from(
          { length: 30 },
          (_, index) =>
            `  - text: "Reading more."\n    tool_calls: [{ name: produce, arguments: { tokens: 400, seed: ${100 + index} } }]`,
        ),
        '  - finish: done',
      ];
      const file = t.agent(
        'needle',
        'tools: [produce, recall, finish]\ncontext: { window: 4000, prefetch: false }',
        `turns:\n${turns.join('\n')}\n`,
      );
      const { pid } = await t.kernel.call('spawn', { agent: file, input: 'remember the vaults' });
      expect(await t.kernel.call('wait', { pid, timeout: '120s' })).toMatchObject({ exitStatus: 0 });
      // Every fact left the working set (only page-table summaries may still quote some).
      const last = requests.at(-1)!;
      expect(
        last.messages.some(
          (message) => message.role === 'tool' && message.content.includes('access code of vault'),
        ),
      ).toBe(false);
      let found = 0;
      for (const entry of facts) {
        const results = await searchMemories(t.kernel.db, {
          namespaces: [`process:${pid}`],
          query: entry.question,
          k: 5,
        });
        if (results.some((result) => result.text.includes(entry.fact))) found += 1;
      }
      expect(found / facts.length).toBeGreaterThanOrEqual(0.95);
    } finally {
      await t.stopOther();
    }
  }, 300_000);

  it('offloads a result larger than the whole window to a file, never sending it, and recites the todo list', async () => {
    const requests: ModelRequest[] = [];
    const t = await kernelWithRecorder(requests);
    try {
      const file = t.agent(
        'offloader',
        'tools: [produce, todo, fs_read, finish]\ncontext: { window: 3000 }',
        [
          'turns:',
          '  - tool_calls: [{ name: todo, arguments: { items: [{ text: "read the big file", status: in_progress }, { text: "report" }] } }]',
          '  - tool_calls: [{ name: produce, arguments: { tokens: 6000, seed: 5 } }]',
          '  - finish: "{{last}}"',
          '',
        ].join('\n'),
      );
      const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
      const done = await t.kernel.call('wait', { pid, timeout: '60s' });
      expect(done.exitStatus).toBe(0);
      const big = filler(6000, 5);
      for (const request of requests) {
        expect(request.messages.some((message) => message.content.includes(big.slice(0, 2000)))).toBe(false);
      }
      const stub = requests
        .at(-1)!
        .messages.find((message) => message.role === 'tool' && message.name === 'produce');
      expect(stub?.content).toMatch(
        /stored in the file \/context\/op-\d+-produce\.txt \(namespace process:\d+, version 1\)/,
      );
      const path = /\/context\/op-\d+-produce\.txt/.exec(stub!.content)![0];
      const stored = await readFile(t.kernel.db, { namespace: `process:${pid}`, path });
      expect(stored.content).toBe(big);
      // The todo list is recited in the tail of the requests after it was written.
      expect(requests.at(-1)!.messages.at(-1)!.content).toMatch(
        /Your todo list:\n\[~\] read the big file\n\[ \] report/,
      );
    } finally {
      await t.stopOther();
    }
  }, 120_000);

  it('refuses at spawn a window too small for the pinned prefix, with the numbers', async () => {
    const t = await start();
    const file = t.agent(
      'cramped',
      'tools: [spawn, wait, finish]\ncontext: { window: 200 }',
      'turns:\n  - finish: never\n',
    );
    const error = await t.kernel
      .call('spawn', { agent: file, input: filler(150, 1) })
      .catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'invalid_input' });
    expect((error as Error).message).toMatch(
      /pinned prefix .*\d+ tokens.* more than the high watermark of its context window \(160 of 200\)/,
    );
  });

  it('pages out more and asks again when the provider says the request is too long', async () => {
    let answers = 0;
    const mock = await startMockOpenAI({
      contextWindow: 2000,
      replies: (request) => {
        const messages = (request.body.messages ?? []) as { role: string; content: string | null }[];
        if (isSummaryRequest(messages)) return { text: 'It produced text.' };
        answers += 1;
        return answers < 9
          ? { toolCalls: [{ name: 'produce', arguments: { tokens: 150, seed: answers } }] }
          : { toolCalls: [{ name: 'finish', arguments: { result: 'made it' } }] };
      },
    });
    const previous = { url: process.env.OPENAI_BASE_URL, key: process.env.OPENAI_API_KEY };
    process.env.OPENAI_BASE_URL = `${mock.url}/v1`;
    process.env.OPENAI_API_KEY = 'test';
    const requests: ModelRequest[] = [];
    const t = await kernelWithRecorder(requests);
    try {
      // The agent thinks its window is 8,000 tokens; the provider takes only 2,000.
      const file = t.modelAgent(
        'optimist',
        'openai:mock-model',
        'tools: [produce, finish]\ncontext: { window: 8000 }',
        'You produce.',
      );
      const { pid } = await t.kernel.call('spawn', { agent: file, input: 'go' });
      const done = await t.kernel.call('wait', { pid, timeout: '60s' });
      expect(done, JSON.stringify(done.error)).toMatchObject({ exitStatus: 0, result: 'made it' });
      const failed = await t.kernel.db.query(
        "select 1 from aos.steps where pid = $1 and kind = 'model' and status = 'failed'",
        [pid],
      );
      expect(failed.rowCount).toBeGreaterThan(0);
      const pages = await t.kernel.db.query(
        "select 1 from aos.steps where pid = $1 and name = 'aos.page-out'",
        [pid],
      );
      expect(pages.rowCount).toBeGreaterThan(0);
    } finally {
      await t.stopOther();
      await mock.close();
      if (previous.url === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = previous.url;
      if (previous.key === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = previous.key;
    }
  }, 120_000);

  it('asks for a page’s summary with the agent’s own context, so the provider’s prompt cache serves it', async () => {
    let answers = 0;
    const mock = await startMockOpenAI({
      replies: (request) => {
        const messages = (request.body.messages ?? []) as { role: string; content: string | null }[];
        if (isSummaryRequest(messages)) return { text: `Summary after answer ${answers}.` };
        answers += 1;
        return answers < 30
          ? { toolCalls: [{ name: 'produce', arguments: { tokens: 300, seed: answers } }] }
          : { toolCalls: [{ name: 'finish', arguments: { result: 'done' } }] };
      },
    });
    const restore = useOpenAI(mock.url);
    const requests: ModelRequest[] = [];
    const t = await kernelWithRecorder(requests);
    try {
      const file = t.modelAgent(
        'summarised',
        'openai:mock-model',
        'tools: [produce, recall, finish]\ncontext: { window: 6000, prefetch: false }',
        'You produce.',
      );
      const { pid } = await t.kernel.call('spawn', { agent: file, input: 'summarise me' });
      const done = await t.kernel.call('wait', { pid, timeout: '60s' });
      expect(done, JSON.stringify(done.error)).toMatchObject({ exitStatus: 0, result: 'done' });
      const summaries = requests.filter((request) =>
        request.messages.at(-1)?.content.startsWith('[aos] Paging out'),
      );
      expect(summaries.length).toBeGreaterThan(0);
      for (const summary of summaries) {
        // The agent's own request up to its working set, the newest turn, then the instruction.
        const previous = requests[requests.indexOf(summary) - 1]!;
        expect(summary.system).toBe(previous.system);
        expect(summary.tools).toEqual(previous.tools);
        const stable = previous.messages.filter(
          (message) => !message.content.startsWith('[aos] Memory pressure'),
        );
        expect(summary.messages.slice(0, stable.length)).toEqual(stable);
        expect(summary.messages.slice(stable.length, -1).map((message) => message.role)).toEqual([
          'assistant',
          'tool',
        ]);
      }
      // The provider's cache served them: all but the newest turn and the instruction.
      const usage = await t.kernel.db.query<{ input: number; cached: number }>(
        `select (usage->>'inputTokens')::int as input, (usage->>'cachedInputTokens')::int as cached
           from aos.steps where pid = $1 and kind = 'model' and input->>'purpose' = 'summarize' order by seq`,
        [pid],
      );
      expect(usage.rowCount).toBe(summaries.length);
      for (const row of usage.rows) expect(row.cached).toBeGreaterThan(row.input * 0.7);
      // Each page's stub got the model's summary.
      const pages = await t.kernel.call('pages', { pid });
      expect(pages.length).toBe(summaries.length);
      for (const page of pages) expect(page.summary).toMatch(/^Summary after answer \d+\.$/);
    } finally {
      await t.stopOther();
      await mock.close();
      restore();
    }
  }, 120_000);

  it('asks for a summary with the page’s text alone when the provider finds the agent’s context too long', async () => {
    let answers = 0;
    const mock = await startMockOpenAI({
      replies: (request) => {
        const messages = (request.body.messages ?? []) as { role: string; content: string | null }[];
        if (String(messages.at(-1)?.content ?? '').startsWith('[aos] Paging out'))
          return { contextTooLong: true };
        if (isSummaryRequest(messages)) return { text: 'From the page alone.' };
        answers += 1;
        return answers < 20
          ? { toolCalls: [{ name: 'produce', arguments: { tokens: 300, seed: answers } }] }
          : { toolCalls: [{ name: 'finish', arguments: { result: 'done' } }] };
      },
    });
    const restore = useOpenAI(mock.url);
    const requests: ModelRequest[] = [];
    const t = await kernelWithRecorder(requests);
    try {
      const file = t.modelAgent(
        'alone',
        'openai:mock-model',
        'tools: [produce, finish]\ncontext: { window: 6000, prefetch: false }',
        'You produce.',
      );
      const { pid } = await t.kernel.call('spawn', { agent: file, input: 'page me alone' });
      const done = await t.kernel.call('wait', { pid, timeout: '60s' });
      expect(done, JSON.stringify(done.error)).toMatchObject({ exitStatus: 0, result: 'done' });
      const pages = await t.kernel.call('pages', { pid });
      expect(pages.length).toBeGreaterThan(0);
      for (const page of pages) expect(page.summary).toBe('From the page alone.');
      const failed = await t.kernel.db.query(
        "select 1 from aos.steps where pid = $1 and kind = 'model' and status = 'failed' and input->>'purpose' = 'summarize'",
        [pid],
      );
      expect(failed.rowCount).toBe(pages.length);
    } finally {
      await t.stopOther();
      await mock.close();
      restore();
    }
  }, 120_000);

  it('shows a step’s exact request by segment (aos context), its pages (aos pages) and recall', async () => {
    const requests: ModelRequest[] = [];
    const t = await kernelWithRecorder(requests);
    try {
      const sizes = [200, 900, 300, 900, 250, 800, 150];
      const file = t.agent(
        'inspected',
        'tools: [produce, recall, finish]\ncontext: { window: 3000 }',
        produceScript(sizes),
      );
      const { pid } = await t.kernel.call('spawn', { agent: file, input: 'inspect me' });
      expect(await t.kernel.call('wait', { pid, timeout: '60s' })).toMatchObject({ exitStatus: 0 });
      const models = await t.kernel.db.query<{ seq: number }>(
        "select seq from aos.steps where pid = $1 and kind = 'model' and status = 'done' order by seq",
        [pid],
      );
      const mine = requests.filter((request) => request.messages[0]?.content === 'inspect me');
      expect(models.rowCount).toBe(mine.length);
      for (const [index, row] of models.rows.entries()) {
        const view = await t.kernel.call('context', { pid, step: row.seq });
        const messages = view.segments.flatMap((segment) => segment.messages);
        expect(messages).toEqual(mine[index]!.messages);
        expect(view.segments.map((segment) => segment.name)).toEqual([
          'pinned prefix',
          'page table',
          'working set',
          'tail',
        ]);
      }
      const pages = await t.kernel.call('pages', { pid });
      expect(pages.length).toBeGreaterThan(0);
      const recalled = await t.kernel.call('recall', { pid, query: pages[0]!.id });
      expect(recalled[0]!.text).toContain('Step 1: producing 200 tokens.');
      await expect(t.kernel.call('context', { pid, step: 999 })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      await t.stopOther();
    }
  }, 120_000);
});
