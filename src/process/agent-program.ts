/**
 * The built-in agent loop, written as a program: ask the model, run the tool calls it
 * makes, repeat; a plain answer ends the process with that answer. It is replayed like
 * any program, so an agent and a TypeScript program share one execution engine. Its
 * context is managed like virtual memory (src/memory/working-context.ts): a pinned
 * prefix, a page table, an append-only working set and a tail rebuilt at every call;
 * when a request would pass the high watermark, the oldest turns are paged out to
 * PostgreSQL in one batch, and a request the provider still finds too long pages out
 * more and is made again.
 */
import type { Message, ModelResponse, ToolCall, ToolSpec } from '../cpu/model.js';
import { checkModelCredentials } from '../cpu/model-credentials.js';
import { TokenCounter } from '../cpu/token-counter.js';
import { AosError } from '../errors.js';
import { type ContextSettings, contextSettings } from '../memory/context-settings.js';
import { extractiveSummary, renderPage } from '../memory/pages.js';
import { type ContextEntry, type TodoItem, WorkingContext } from '../memory/working-context.js';
import type { AgentDefinition } from './agent-definition.js';
import type { Execution } from './execution.js';
import { pageOut, prefetchPages } from './operations/page-operation.js';
import type { Program, ProgramContext, ProgramModelRequest, ToolResult } from './program.js';
import { executionOf } from './program-context.js';

/** How often a request the provider rejects as too long is made again after paging out more. */
const contextRetries = 3;

/** The program an agent definition runs. */
export function agentProgram(definition: AgentDefinition): Program {
  return {
    kind: 'aos.program',
    name: definition.name,
    options: { tools: definition.tools },
    run: (ctx, input) => runAgent(ctx, definition, input),
  };
}

async function runAgent(ctx: ProgramContext, definition: AgentDefinition, input: string): Promise<unknown> {
  const execution = (ctx as ProgramContext & { [executionOf]?: Execution })[executionOf];
  if (execution === undefined) throw new Error('the agent program runs only on the kernel’s own context');
  const model = execution.model ?? definition.model;
  const settings = contextSettings(definition.context, model);
  const specs: ToolSpec[] = definition.tools.flatMap((name) => execution.toolSpec(name) ?? []);
  const context = new WorkingContext(new TokenCounter(), settings, {
    system: definition.prompt,
    tools: specs,
    input,
  });
  checkWindow(definition, context, settings);
  let lastModelOperation = 0;
  let rejections = 0;
  for (;;) {
    const tail = deterministicTail(ctx, definition, context, lastModelOperation);
    const tailTokens = tail.reduce((sum, message) => sum + context.messageTokens(message), 0);
    const evicted = context.planEviction(tailTokens, rejections > 0);
    if (evicted !== undefined)
      await pageOutEntries(ctx, execution, definition, context, evicted, model, rejections > 0);
    let response: ModelResponse;
    try {
      const prefetch = rejections === 0;
      response = await ctx.model(() =>
        buildRequest(execution, definition, context, ctx, lastModelOperation, prefetch),
      );
    } catch (error) {
      // The provider found the request too long after all: page out more and ask again.
      if (isContextLength(error) && rejections < contextRetries && context.working.length > 1) {
        rejections += 1;
        continue;
      }
      throw error;
    }
    rejections = 0;
    lastModelOperation = ctx.operation;
    context.addAnswer(
      {
        role: 'assistant',
        content: response.content,
        ...(response.toolCalls.length > 0 ? { toolCalls: response.toolCalls } : {}),
        ...(response.meta === undefined ? {} : { meta: response.meta }),
      },
      ctx.operation,
    );
    // A plain answer ends the process, with the answer as its result.
    if (response.toolCalls.length === 0) return response.content;
    for (const call of response.toolCalls) {
      const result = await ctx.tool(call.name, call.arguments, {
        callId: call.id,
        offloadOverTokens: settings.offloadOver,
        ...(call.invalidArguments === undefined ? {} : { invalidArguments: call.invalidArguments }),
      });
      if (call.name === 'todo' && !result.isError) context.todo = todoOf(result);
      context.addToolResult(toolMessage(call, result), ctx.operation);
    }
  }
}

/**
 * Refuses (invalid_input, with the numbers) an agent whose context window is too small
 * for its pinned prefix (system prompt, tools, task): at spawn, and again when it runs.
 * At spawn it also refuses (unavailable, naming the variable) a model whose API key is not set.
 */
export function checkAgentWindow(
  definition: AgentDefinition,
  tools: readonly ToolSpec[],
  input: string,
  model?: string,
): void {
  checkModelCredentials(model ?? definition.model);
  const settings = contextSettings(definition.context, model ?? definition.model);
  const context = new WorkingContext(new TokenCounter(), settings, {
    system: definition.prompt,
    tools,
    input,
  });
  checkWindow(definition, context, settings);
}

function checkWindow(definition: AgentDefinition, context: WorkingContext, settings: ContextSettings): void {
  const needed = context.pinnedTokens + settings.reserve;
  if (needed > settings.high) {
    throw new AosError(
      'invalid_input',
      `agent ${definition.name}: its pinned prefix (system prompt, tools and task: ${context.pinnedTokens} tokens) and the reserve for the answer (${settings.reserve}) need ${needed} tokens, more than the high watermark of its context window (${settings.high} of ${settings.window})`,
      { hint: 'give it a larger context.window, a shorter prompt or task, or fewer tools' },
    );
  }
}

/**
 * The request, built when the call is made: the assembled context with the tail, and
 * the best-matching pages in it when prefetching is on (live only: what it found is
 * journaled with the call, so it does not need to be found again on replay).
 */
async function buildRequest(
  execution: Execution,
  definition: AgentDefinition,
  context: WorkingContext,
  ctx: ProgramContext,
  lastModelOperation: number,
  prefetch: boolean,
): Promise<ProgramModelRequest> {
  const tail = deterministicTail(ctx, definition, context, lastModelOperation);
  let prefetched: string[] = [];
  // Not after the provider refused a request as too long: that call must only get smaller.
  if (prefetch && context.settings.prefetch && context.pages.length > 0) {
    // Prefetched pages fill the room up to the low watermark, so they never cause a page-out.
    const room =
      context.settings.low - context.size(tail.reduce((sum, m) => sum + context.messageTokens(m), 0));
    // Inspecting a past call (aos context): the pages it had, as journaled, not a new search.
    const recorded = execution.inspecting
      ? ((execution.recordedRow(ctx.operation)?.output as { context?: { prefetched?: string[] } } | null)
          ?.context?.prefetched ?? [])
      : undefined;
    const found = await prefetchPages(execution, latestObservation(context), room, recorded);
    prefetched = found.map((page) => page.id);
    if (found.length > 0) {
      tail.push({
        role: 'notice',
        content: `[aos] Pages of your earlier context that match what you are doing now:\n${found.map((page) => `--- ${page.id} ---\n${page.text}`).join('\n')}`,
      });
    }
  }
  const assembled = context.assemble(tail);
  const accounting = context.accounting(assembled, prefetched);
  return {
    system: definition.prompt,
    messages: assembled.messages,
    tools: definition.tools,
    breakpoints: assembled.breakpoints,
    accounting,
  };
}

/** The tail whose content depends only on the journal: signal notices, memory pressure, the todo list. */
function deterministicTail(
  ctx: ProgramContext,
  definition: AgentDefinition,
  context: WorkingContext,
  lastModelOperation: number,
): Message[] {
  const notices: Message[] = [];
  if (ctx.signals.some((delivered) => delivered.signal === 'INT' && delivered.op > lastModelOperation)) {
    notices.push({ role: 'notice', content: '[aos] your previous model call was interrupted (signal INT)' });
  }
  if (ctx.terminating) {
    notices.push({
      role: 'notice',
      content:
        `[aos] signal TERM: you are being stopped. Finish or save your work within ${definition.termGraceSteps} steps ` +
        `or ${Math.round(definition.termGraceMs / 1000)} s, then call finish; after that the process is killed.`,
    });
  }
  if (context.todo.length > 0) {
    const marks = { pending: '[ ]', in_progress: '[~]', done: '[x]' } as const;
    notices.push({
      role: 'notice',
      content: `[aos] Your todo list:\n${context.todo.map((item) => `${marks[item.status]} ${item.text}`).join('\n')}`,
    });
  }
  const tailTokens = notices.reduce((sum, message) => sum + context.messageTokens(message), 0);
  if (context.underPressure(tailTokens)) {
    const size = context.size(tailTokens);
    notices.push({
      role: 'notice',
      content:
        `[aos] Memory pressure: this context is at ${Math.round((100 * size) / context.settings.window)}% of its window. ` +
        'Its oldest part will soon be paged out (it stays readable with recall); save what matters now (fs_write, remember, todo).',
    });
  }
  return notices;
}

/**
 * Pages `entries` out: a summary (the model's own, or extractive with the scripted CPU),
 * then one operation that stores the page. The model is asked with the agent's own
 * request (pinned prefix, page table, working set) and the instruction in the tail, so
 * the provider's prompt cache serves all but the newest turn of it; only when that would
 * not fit the window, after the provider refused a request as too long (`force`), or
 * when it refuses this one as too long, is it asked with the page's text alone.
 */
async function pageOutEntries(
  ctx: ProgramContext,
  execution: Execution,
  definition: AgentDefinition,
  context: WorkingContext,
  entries: ContextEntry[],
  model: string,
  force: boolean,
): Promise<void> {
  const text = renderPage(entries);
  let summary: string;
  if (model.startsWith('scripted:')) {
    summary = extractiveSummary(entries);
  } else {
    const ask = (alone: boolean) =>
      ctx.model(() => summaryRequest(definition, context, entries, text, alone), { purpose: 'summarize' });
    let answer: ModelResponse;
    try {
      answer = await ask(force);
    } catch (error) {
      // The provider counts the agent's context as too long after all: the page's text alone.
      if (force || !isContextLength(error)) throw error;
      answer = await ask(true);
    }
    summary = answer.content.replace(/\s+/g, ' ').trim().slice(0, 600) || extractiveSummary(entries);
  }
  const stub = {
    id: context.nextPageId(),
    fromOp: entries[0]!.op,
    toOp: entries.at(-1)!.op,
    messages: entries.length,
    tokens: entries.reduce((sum, entry) => sum + entry.tokens, 0),
    summary,
  };
  await pageOut(
    execution,
    stub,
    text,
    entries.map((entry) => entry.message),
  );
  context.pageOut(entries.length, stub);
}

const summaryRules =
  'In at most three sentences, say what was done, what was found, and what is still open. ' +
  'Keep names, numbers, paths and identifiers exactly.';

/** The request for a page's summary: the agent's own context with the instruction as its tail, else the page's text alone. */
function summaryRequest(
  definition: AgentDefinition,
  context: WorkingContext,
  entries: readonly ContextEntry[],
  text: string,
  force: boolean,
): ProgramModelRequest {
  const instruction: Message = {
    role: 'notice',
    content:
      `[aos] Paging out: operations ${entries[0]!.op}-${entries.at(-1)!.op} (the ${entries.length} oldest messages ` +
      'of the conversation above, after the task and the page table) are leaving your context window. ' +
      `Summarise them for the page table. ${summaryRules} Answer with the summary only; call no tool.`,
  };
  if (!force && context.size(context.messageTokens(instruction)) <= context.settings.window) {
    const assembled = context.assemble([instruction]);
    return {
      system: definition.prompt,
      messages: assembled.messages,
      tools: definition.tools,
      breakpoints: assembled.breakpoints,
      accounting: context.accounting(assembled, []),
    };
  }
  return {
    system:
      'You summarise part of an AI agent’s working context that is being paged out of its window. ' +
      summaryRules,
    messages: [{ role: 'user', content: text }],
  };
}

/** The text the latest observation holds: what prefetching matches pages against. */
function latestObservation(context: WorkingContext): string {
  for (let index = context.working.length - 1; index >= 0; index--) {
    const message = context.working[index]!.message;
    if (message.role === 'tool' || message.role === 'user') return message.content.slice(0, 2000);
    if (message.role === 'assistant' && message.content !== '') return message.content.slice(0, 2000);
  }
  return '';
}

function isContextLength(error: unknown): boolean {
  return (error as { details?: { reason?: unknown } } | null)?.details?.reason === 'context_length';
}

function todoOf(result: ToolResult): TodoItem[] {
  const output = result.output as { items?: TodoItem[] } | null;
  return Array.isArray(output?.items) ? output.items : [];
}

function toolMessage(call: ToolCall, result: ToolResult): Message {
  return {
    role: 'tool',
    toolCallId: call.id,
    name: call.name,
    content: result.content,
    ...(result.isError ? { isError: true } : {}),
  };
}
