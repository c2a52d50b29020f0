/**
 * bench/context: one 300-step agent run in a 16k-token window, against the mock OpenAI
 * server's prefix cache (longest prefix shared with a recent request, 128-token blocks,
 * nothing under 1,024 tokens). aos runs for real (a kernel on PGlite in memory, the
 * agent's model `openai:` pointed at the mock, whose script plays the model), so the
 * mock sees exactly the requests aos sends. Two baselines replay the same answers and
 * the same tool outputs in this process through the same driver, each against its own
 * fresh mock: a sliding window (the last messages that fit), and summarise-everything
 * when a request would overflow. Each baseline also runs with tool results cut to the
 * size over which aos offloads them (the strongest version of it). Reports the cache hit
 * ratio, cost-weighted input tokens, peak window use and overflows.
 *
 *   npm run bench:context     (AOS_BENCH_STEPS, default 300; AOS_BENCH_SEED, default 20261201;
 *                              AOS_BENCH_HIGH, AOS_BENCH_LOW: aos's watermarks; AOS_BENCH_PROVIDER=anthropic)
 *
 * See docs/benchmarks.md, "Context paging", for what is counted and how.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { AnthropicDriver } from '../../src/cpu/anthropic-driver.js';
import type { Message, ModelDriver, ModelRequest, ToolSpec } from '../../src/cpu/model.js';
import { OpenAIDriver } from '../../src/cpu/openai-driver.js';
import { TokenCounter } from '../../src/cpu/token-counter.js';
import { defineTool, textResult } from '../../src/io/tool.js';
import { createKernel } from '../../src/kernel.js';
import { contextSettings } from '../../src/memory/context-settings.js';
import { renderMessage } from '../../src/memory/pages.js';
import { createPgliteDb, openPglite } from '../../src/storage/pglite-db.js';
import type { MockReply, MockServer, RecordedRequest } from '../../src/testing/index.js';
import { startMockAnthropic } from '../../src/testing/mock-anthropic-server.js';
import { startMockOpenAI } from '../../src/testing/mock-openai-server.js';
import { textOf } from '../../src/testing/mock-provider-core.js';
import { observeOutput, type TranscriptStep, transcript } from './transcript.js';

const steps = Number(process.env.AOS_BENCH_STEPS ?? 300);
const seed = Number(process.env.AOS_BENCH_SEED ?? 20261201);
const windowText = '16k';
/** The mock provider: openai (automatic prefix caching) or anthropic (cache_control breakpoints), AOS_BENCH_PROVIDER. */
const provider = process.env.AOS_BENCH_PROVIDER === 'anthropic' ? 'anthropic' : 'openai';
const settings = contextSettings({ window: windowText }, `${provider}:mock-model`);
/** The agent's watermarks (AOS_BENCH_HIGH, AOS_BENCH_LOW: shares of the window), for trying others. */
const watermarks = {
  ...(process.env.AOS_BENCH_HIGH === undefined ? {} : { high_watermark: Number(process.env.AOS_BENCH_HIGH) }),
  ...(process.env.AOS_BENCH_LOW === undefined ? {} : { low_watermark: Number(process.env.AOS_BENCH_LOW) }),
};
const settingsInForce = contextSettings({ window: windowText, ...watermarks }, `${provider}:mock-model`);
const window = settings.window;
/** The mock's prefix cache: reads in whole blocks, none under the minimum. */
const blockSize = 128;
const minCached = 1024;
const counter = new TokenCounter();

const summariserPrompt =
  'You summarise part of an AI agent’s working context that is being paged out of its window. ' +
  'In at most three sentences, say what was done, what was found, and what is still open. ' +
  'Keep names, numbers, paths and identifiers exactly.';

const systemPrompt = [
  'You are an incident investigator for a payments company. You work through logs, API listings,',
  'source code, runbooks and usage reports one source at a time with the observe tool, and you keep',
  'notes of what you find. Rules:',
  '- Look at one source per step; say in one sentence what you are checking and why.',
  '- Quote identifiers, paths, timestamps and numbers exactly as the sources give them.',
  '- When a result is stored in a file instead of shown, read only the parts you need (fs_read with',
  '  offset and limit, or fs_grep).',
  '- Keep a todo list of open questions; mark items done when the evidence settles them.',
  '- Earlier context may be paged out to memory; use recall with a page id or a query to read it back.',
  '- Never guess a root cause; say what evidence would settle it.',
  '- When every question on your list is settled, call finish with a short report: the timeline, the',
  '  root cause with its evidence, the customers affected, and the follow-up actions with owners.',
].join('\n');

const task =
  'Investigate the incident of 2026-11-30 14:00-16:00 UTC: payments were delayed and some invoices ' +
  'were charged twice. Find the root cause, the services and customers affected, and what to change.';

const observe = defineTool({
  name: 'observe',
  description:
    'Reads a source: a log file, an API listing, a source file, a runbook or a usage report. ' +
    'Returns its text (large sources are stored in a file and shown as a stub).',
  input: z.object({
    source: z.string().describe('the path or request to read'),
    kind: z.enum(['log', 'json', 'code', 'prose', 'table']),
    tokens: z.number().int().min(1).describe('how much of it to read, in tokens'),
    seed: z.number().int(),
  }),
  annotations: { readOnly: true, idempotent: true },
  async run(input) {
    return textResult(observeOutput(input));
  },
});

/** A fresh mock provider for one contender. */
function startMock(script: TranscriptStep[]): Promise<MockServer> {
  const options = { replies: responder(script) };
  return provider === 'anthropic' ? startMockAnthropic(options) : startMockOpenAI(options);
}

/** The driver aos uses for the provider, pointed at `mock`. */
function driverFor(mock: MockServer): ModelDriver {
  return provider === 'anthropic'
    ? new AnthropicDriver({ baseUrl: mock.url, apiKey: 'bench' })
    : new OpenAIDriver({ baseUrl: `${mock.url}/v1`, apiKey: 'bench' });
}

/** The texts of a wire request: the system prompt, then each message's. */
function textsOf(body: Record<string, unknown>): string[] {
  const messages = (body.messages ?? []) as { role: string; content: unknown }[];
  if (provider === 'openai') return messages.map((message) => textOf(message.content));
  return [textOf(body.system), ...messages.map((message) => textOf(message.content))];
}

/** The mock's answers: the transcript's step for the Nth agent request, a summary for a summary request. */
function responder(script: TranscriptStep[]) {
  let answered = 0;
  return (request: RecordedRequest): MockReply => {
    const texts = textsOf(request.body);
    if (isSummary(texts)) return { text: summaryOf(texts) };
    const step = script[answered];
    answered += 1;
    if (step === undefined || answered >= steps) {
      return {
        text: 'Done.',
        toolCalls: [{ id: `call_${answered}`, name: 'finish', arguments: { result: 'done' } }],
      };
    }
    return {
      text: step.text,
      toolCalls: [{ id: `call_${step.step}`, name: 'observe', arguments: step.args }],
    };
  };
}

/**
 * Whether a request asks for a summary: with its own system prompt (a baseline's, or aos
 * paging out without the agent's context), or with the agent's context and aos's paging-out
 * instruction last.
 */
function isSummary(texts: readonly string[]): boolean {
  return (texts[0] ?? '').startsWith('You summarise') || (texts.at(-1) ?? '').includes('[aos] Paging out');
}

/** A three-sentence summary of what a summary request holds (the sources it names), deterministic. */
function summaryOf(texts: readonly string[]): string {
  const text = texts.slice(1).join('\n');
  const stepNumbers = [...text.matchAll(/Step (\d+):/g)].map((match) => Number(match[1]));
  const sources = [
    ...new Set([...text.matchAll(/checking (\S+)|looking at (\S+)/g)].map((m) => m[1] ?? m[2])),
  ];
  const range =
    stepNumbers.length === 0
      ? 'Earlier steps'
      : `Steps ${Math.min(...stepNumbers)}-${Math.max(...stepNumbers)}`;
  return (
    `${range} read ${sources.length} sources, among them ${sources.slice(0, 4).join(', ')}. ` +
    'Latency and retries rose on several services after the deploy; no single root cause is proven yet. ' +
    'Still open: the double charges, which customers were hit, and whether the rollback fixed it.'
  );
}

/** One completion as the provider billed it. */
interface Billed {
  purpose: 'agent' | 'summary';
  /** The first agent request after a page-out or a summary. */
  afterEviction?: boolean;
  input: number;
  cached: number;
  /** Cache writes as the provider reported them (Anthropic); undefined: counted (OpenAI reports none). */
  written: number | undefined;
}

/**
 * Cost-weighted input tokens of one request: cache reads at 0.1; cache writes at 1.25,
 * counted as the whole 128-token blocks of a prompt of at least 1,024 tokens past the
 * part read from the cache (what a later request could read: the mock stores every such
 * prompt); the rest (a last partial block, a prompt under 1,024 tokens) at 1. Where the
 * provider reports its writes (Anthropic's cache_creation_input_tokens), those.
 */
function cost(billed: Billed): { uncached: number; written: number; weighted: number } {
  const cacheable = billed.input >= minCached ? Math.floor(billed.input / blockSize) * blockSize : 0;
  const written = billed.written ?? Math.max(0, cacheable - billed.cached);
  const uncached = billed.input - billed.cached - written;
  return { uncached, written, weighted: uncached + 0.1 * billed.cached + 1.25 * written };
}

interface Outcome {
  contender: string;
  breakdown: Record<string, { requests: number; input: number; uncachedOrWritten: number }>;
  agentRequests: number;
  summaryRequests: number;
  inputTokens: number;
  cachedTokens: number;
  hitRatio: number;
  /** Of the agent's own requests only (no summary calls). */
  agentHitRatio: number;
  peakAgentTokens: number;
  uncachedTokens: number;
  cacheWriteTokens: number;
  costWeightedInput: number;
  summaryCostWeighted: number;
  peakWindowUse: number;
  peakTokens: number;
  overflows: number;
  extra?: Record<string, unknown>;
}

function outcome(contender: string, billed: Billed[], extra?: Record<string, unknown>): Outcome {
  let input = 0;
  let cached = 0;
  let uncached = 0;
  let written = 0;
  let weighted = 0;
  let summaryWeighted = 0;
  let peak = 0;
  let overflows = 0;
  for (const each of billed) {
    const c = cost(each);
    input += each.input;
    cached += each.cached;
    uncached += c.uncached;
    written += c.written;
    weighted += c.weighted;
    if (each.purpose === 'summary') summaryWeighted += c.weighted;
    peak = Math.max(peak, each.input);
    if (each.input > window) overflows += 1;
  }
  const agentOnly = billed.filter((each) => each.purpose === 'agent');
  const part = (filter: (each: Billed) => boolean) => {
    const chosen = billed.filter(filter);
    return {
      requests: chosen.length,
      input: chosen.reduce((sum, each) => sum + each.input, 0),
      uncachedOrWritten: chosen.reduce((sum, each) => sum + each.input - each.cached, 0),
    };
  };
  return {
    contender,
    breakdown: {
      summaryCalls: part((each) => each.purpose === 'summary'),
      firstAfterEviction: part((each) => each.afterEviction === true),
      otherAgentRequests: part((each) => each.purpose === 'agent' && each.afterEviction !== true),
    },
    agentRequests: billed.filter((each) => each.purpose === 'agent').length,
    summaryRequests: billed.filter((each) => each.purpose === 'summary').length,
    inputTokens: input,
    cachedTokens: cached,
    hitRatio: cached / input,
    agentHitRatio:
      agentOnly.reduce((sum, each) => sum + each.cached, 0) /
      agentOnly.reduce((sum, each) => sum + each.input, 0),
    peakAgentTokens: Math.max(...agentOnly.map((each) => each.input)),
    uncachedTokens: uncached,
    cacheWriteTokens: written,
    costWeightedInput: Math.round(weighted),
    summaryCostWeighted: Math.round(summaryWeighted),
    peakWindowUse: peak / window,
    peakTokens: peak,
    overflows,
    ...(extra === undefined ? {} : { extra }),
  };
}

/** aos itself: a kernel on PGlite in memory, the agent's model the mock. */
async function runAos(
  script: TranscriptStep[],
): Promise<{ outcome: Outcome; first: ModelRequest; toolsOfFirst: ToolSpec[] }> {
  const mock = await startMock(script);
  const requests: ModelRequest[] = [];
  const billed: Billed[] = [];
  const driver = driverFor(mock);
  let evicted = false;
  const recording: ModelDriver = {
    async complete(request, options) {
      requests.push(structuredClone(request));
      const response = await driver.complete(request, options);
      const summary = isSummary([request.system, ...request.messages.map((message) => message.content)]);
      billed.push({
        purpose: summary ? 'summary' : 'agent',
        input: response.usage.inputTokens,
        cached: response.usage.cachedInputTokens ?? 0,
        written: response.usage.cacheCreationInputTokens,
        afterEviction: !summary && evicted,
      });
      evicted = summary;
      return response;
    },
  };
  const db = createPgliteDb(await openPglite(undefined), 'memory');
  const folder = mkdtempSync(join(tmpdir(), 'aos-bench-context-'));
  const kernel = await createKernel({
    db,
    tools: [observe],
    models: () => recording,
    otlp: false,
    home: folder,
  });
  const worker = kernel.createWorker({ concurrency: 1, pollMs: 5, leaseMs: 60_000, quantumMs: 3_600_000 });
  await worker.start();
  try {
    const file = join(folder, 'investigator.md');
    writeFileSync(
      file,
      `---\nname: investigator\nmodel: ${provider}:mock-model\ntools: [observe, recall, fs_read, fs_grep, todo, finish]\ncontext: { window: ${windowText}${Object.entries(
        watermarks,
      )
        .map(([key, value]) => `, ${key}: ${value}`)
        .join('')} }\n---\n${systemPrompt}\n`,
    );
    const { pid } = await kernel.call('spawn', { agent: file, input: task });
    const done = await kernel.call('wait', { pid, timeout: '60m' });
    if (done.exitStatus !== 0) throw new Error(`the aos agent failed: ${JSON.stringify(done.error)}`);
    const pageOuts = await db.query<{ n: number }>(
      "select count(*)::int as n from aos.steps where pid = $1 and name = 'aos.page-out'",
      [pid],
    );
    const offloaded = new Set(
      requests.flatMap((request) =>
        request.messages.flatMap((message) =>
          message.role === 'tool' && /stored in the file/.test(message.content) ? [message.toolCallId] : [],
        ),
      ),
    ).size;
    const estimated = await db.query<{ est: number; reused: number; tail: number; prefetching: number }>(
      `select coalesce(sum((output->'context'->>'inputTokens')::int), 0)::int as est,
              coalesce(sum((output->'context'->>'reusedTokens')::int), 0)::int as reused,
              coalesce(sum((output->'context'->>'tailTokens')::int), 0)::int as tail,
              count(*) filter (where jsonb_array_length(output->'context'->'prefetched') > 0)::int as prefetching
         from aos.steps where pid = $1 and kind = 'model' and status = 'done'
          and input->>'purpose' is distinct from 'summarize'`,
      [pid],
    );
    const first = requests[0]!;
    return {
      outcome: outcome('aos (paging)', billed, {
        pageOuts: pageOuts.rows[0]!.n,
        offloadedToolResults: offloaded,
        kernelEstimatedInput: estimated.rows[0]!.est,
        kernelReusedTokens: estimated.rows[0]!.reused,
        tailTokens: estimated.rows[0]!.tail,
        requestsWithPrefetchedPages: estimated.rows[0]!.prefetching,
        high: settingsInForce.high,
        low: settingsInForce.low,
      }),
      first,
      toolsOfFirst: first.tools,
    };
  } finally {
    await worker.stop(5000);
    await db.close();
    await mock.close();
  }
}

/** Tokens of a message as aos's memory manager counts them. */
function messageTokens(message: Message): number {
  const calls =
    message.role === 'assistant' && message.toolCalls !== undefined && message.toolCalls.length > 0
      ? counter.count(JSON.stringify(message.toolCalls))
      : 0;
  return 4 + counter.count(message.content) + calls;
}

/** The head of `text`, whole lines, at most `tokens` tokens, with a note of what was cut. */
function cut(text: string, tokens: number): string {
  if (counter.count(text) <= tokens) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let used = 20;
  for (const line of lines) {
    const size = counter.count(line) + 1;
    if (used + size > tokens) break;
    kept.push(line);
    used += size;
  }
  return `${kept.join('\n')}\n[... cut: ${lines.length - kept.length} more lines]`;
}

type Policy = 'sliding-window' | 'summarize-on-overflow';

/**
 * A baseline, replaying the transcript's answers and tool outputs through the same
 * driver against its own mock. `capTools`: tool results over aos's offload size are cut
 * to that many tokens (aos offloads them to a file instead).
 */
async function runBaseline(
  policy: Policy,
  capTools: boolean,
  script: TranscriptStep[],
  pinned: { system: string; tools: ToolSpec[]; task: Message },
): Promise<Outcome> {
  const mock: MockServer = await startMock(script);
  const driver = driverFor(mock);
  const billed: Billed[] = [];
  const pinnedTokens =
    counter.count(pinned.system) + counter.count(JSON.stringify(pinned.tools)) + messageTokens(pinned.task);
  const budget = window - settings.reserve;
  let history: Message[] = [];
  let truncatedDrops = 0;
  let summarized = false;
  try {
    for (let request = 1; request <= steps; request++) {
      let messages: Message[];
      const size = () => pinnedTokens + history.reduce((sum, message) => sum + messageTokens(message), 0);
      if (policy === 'sliding-window') {
        // The last messages that fit, starting at an answer (a tool result needs its call).
        let used = pinnedTokens;
        let start = history.length;
        while (start > 0 && used + messageTokens(history[start - 1]!) <= budget) {
          start -= 1;
          used += messageTokens(history[start]!);
        }
        while (start < history.length && history[start]!.role === 'tool') start += 1;
        // Nothing fits: send the latest turn anyway (it overflows).
        if (start === history.length && history.length > 0) {
          start = history.length - 1;
          while (start > 0 && history[start]!.role !== 'assistant') start -= 1;
          truncatedDrops += 1;
        }
        messages = [pinned.task, ...history.slice(start)];
      } else {
        if (size() > budget) {
          // Replace the whole history by one summary of it (what fits of it, the newest part).
          const rendered = history.map(renderMessage).join('\n\n');
          const room = budget - counter.count(summariserPrompt) - 50;
          const text = counter.count(rendered) > room ? tailOf(rendered, room) : rendered;
          const answer = await driver.complete(
            {
              model: 'mock-model',
              system: summariserPrompt,
              messages: [{ role: 'user', content: text }],
              tools: [],
            },
            { signal: new AbortController().signal },
          );
          billed.push({
            purpose: 'summary',
            input: answer.usage.inputTokens,
            cached: answer.usage.cachedInputTokens ?? 0,
            written: answer.usage.cacheCreationInputTokens,
          });
          history = [{ role: 'user', content: `[summary of the conversation so far] ${answer.content}` }];
          summarized = true;
        }
        messages = [pinned.task, ...history];
      }
      const response = await driver.complete(
        { model: 'mock-model', system: pinned.system, messages, tools: pinned.tools },
        { signal: new AbortController().signal },
      );
      billed.push({
        purpose: 'agent',
        input: response.usage.inputTokens,
        cached: response.usage.cachedInputTokens ?? 0,
        written: response.usage.cacheCreationInputTokens,
        afterEviction: summarized,
      });
      summarized = false;
      history.push({ role: 'assistant', content: response.content, toolCalls: response.toolCalls });
      for (const call of response.toolCalls) {
        if (call.name !== 'observe') continue;
        const output = observeOutput(call.arguments as TranscriptStep['args']);
        history.push({
          role: 'tool',
          toolCallId: call.id,
          name: call.name,
          content: capTools ? cut(output, settings.offloadOver) : output,
        });
      }
    }
  } finally {
    await mock.close();
  }
  const name = `${policy}${capTools ? `, tool results cut to ${settings.offloadOver}` : ''}`;
  return outcome(
    name,
    billed,
    policy === 'sliding-window' ? { turnsSentOverBudget: truncatedDrops } : undefined,
  );
}

/** The end of `text`, whole lines, at most `tokens` tokens. */
function tailOf(text: string, tokens: number): string {
  const lines = text.split('\n');
  const kept: string[] = [];
  let used = 0;
  for (let index = lines.length - 1; index >= 0; index--) {
    const size = counter.count(lines[index]!) + 1;
    if (used + size > tokens) break;
    kept.unshift(lines[index]!);
    used += size;
  }
  return kept.join('\n');
}

function pct(value: number): string {
  return `${(100 * value).toFixed(1)}%`;
}

async function main(): Promise<void> {
  const script = transcript(steps, seed);
  const started = Date.now();
  const aos = await runAos(script);
  const aosSeconds = (Date.now() - started) / 1000;
  const pinned = { system: aos.first.system, tools: aos.toolsOfFirst, task: aos.first.messages[0]! };
  const baselines: Outcome[] = [];
  for (const policy of ['sliding-window', 'summarize-on-overflow'] as const) {
    for (const capTools of [false, true]) baselines.push(await runBaseline(policy, capTools, script, pinned));
  }
  const all = [aos.outcome, ...baselines];
  const sizes = script.map((step) => step.args.tokens);
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? 'unknown' },
    provider,
    steps,
    seed,
    window,
    settings,
    transcript: {
      observeCalls: steps - 1,
      outputTokens: sizes.slice(0, steps - 1).reduce((sum, size) => sum + size, 0),
      huge20k: sizes.slice(0, steps - 1).filter((size) => size === 20_000).length,
      large1kTo4k: sizes.slice(0, steps - 1).filter((size) => size >= 1000 && size < 20_000).length,
    },
    pinnedTokens:
      counter.count(pinned.system) + counter.count(JSON.stringify(pinned.tools)) + messageTokens(pinned.task),
    aosSeconds,
    contenders: all,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n\n`);
  const slidingCut = baselines[1]!;
  const sliding = baselines[0]!;
  console.log(
    '| contender | requests (agent + summary) | input tokens | cached | hit ratio (agent requests only) | cache writes | cost-weighted input | vs aos | peak window use | overflows |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const each of all) {
    console.log(
      `| ${each.contender} | ${each.agentRequests} + ${each.summaryRequests} | ${each.inputTokens.toLocaleString('en')} | ${each.cachedTokens.toLocaleString('en')} | ${pct(each.hitRatio)} (${pct(each.agentHitRatio)}) | ${each.cacheWriteTokens.toLocaleString('en')} | ${each.costWeightedInput.toLocaleString('en')} | ${(each.costWeightedInput / aos.outcome.costWeightedInput).toFixed(2)}× | ${pct(each.peakWindowUse)} (${each.peakTokens.toLocaleString('en')}) | ${each.overflows} |`,
    );
  }
  console.log(
    `\naos: hit ratio ${pct(aos.outcome.hitRatio)} (target ≥ 85%), ` +
      `${(sliding.costWeightedInput / aos.outcome.costWeightedInput).toFixed(2)}× / ${(slidingCut.costWeightedInput / aos.outcome.costWeightedInput).toFixed(2)}× fewer cost-weighted input tokens than the sliding window without / with cut tool results (target ≥ 2×), ` +
      `${aos.outcome.overflows} overflows (target 0)`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
