/**
 * An agent's context, managed like virtual memory. A request is assembled from four
 * segments: the pinned prefix (system prompt, tools, the task: byte-identical for the
 * process's whole life), the page table (one stub per range paged out; changes only
 * when something is paged out), the working set (the transcript since, append-only),
 * and the tail (rebuilt at every call: notices, the todo list, prefetched pages). When a
 * request would pass the high watermark, the oldest turns of the working set are paged
 * out in one batch down to the low watermark, never splitting a tool call from its
 * result. Every decision here depends only on what the journal holds, so a replay
 * makes the same ones.
 */
import type { Message, ToolSpec } from '../cpu/model.js';
import type { TokenCounter } from '../cpu/token-counter.js';
import type { ContextSettings } from './context-settings.js';

/** One message of the working set. */
export interface ContextEntry {
  message: Message;
  /** The operation that produced it. */
  op: number;
  tokens: number;
  /** Turns number the model's answers; a tool result belongs to the turn that asked for it. */
  turn: number;
}

/** A stub in the page table: a range of the working set now kept as a page in PostgreSQL. */
export interface PageStub {
  /** "p1", "p2", ...: what recall takes. */
  id: string;
  fromOp: number;
  toOp: number;
  messages: number;
  tokens: number;
  summary: string;
}

/** An item of the todo list the agent keeps with the todo tool. */
export interface TodoItem {
  text: string;
  status: 'pending' | 'in_progress' | 'done';
}

/** Token counts of a request's segments, as journaled with the model call. */
export interface SegmentTokens {
  prefix: number;
  pageTable: number;
  workingSet: number;
  tail: number;
}

/** An assembled request: its messages, where its stable part ends, and its accounting. */
export interface AssembledContext {
  messages: Message[];
  /** Message indices that end a cacheable segment (for providers with explicit breakpoints). */
  breakpoints: number[];
  segments: SegmentTokens;
  /** All of it plus the reserve: what is compared with the window. */
  total: number;
}

/** Tokens of framing each message costs besides its text. */
const messageOverhead = 4;

export class WorkingContext {
  readonly settings: ContextSettings;
  readonly pages: PageStub[] = [];
  working: ContextEntry[] = [];
  todo: TodoItem[] = [];
  private readonly input: Message;
  private readonly prefixTokens: number;
  private readonly canRecall: boolean;
  private turn = 0;
  /** What the last accounted request held, to tell how much of the next one repeats it. */
  private previousAssembly: { pages: number; working: number; stable: number } | undefined;

  constructor(
    private readonly tokens: TokenCounter,
    settings: ContextSettings,
    pinned: { system: string; tools: readonly ToolSpec[]; input: string },
  ) {
    this.settings = settings;
    this.canRecall = pinned.tools.some((tool) => tool.name === 'recall');
    this.input = { role: 'user', content: pinned.input };
    this.prefixTokens =
      this.tokens.count(pinned.system) +
      (pinned.tools.length === 0 ? 0 : this.tokens.count(JSON.stringify(pinned.tools))) +
      this.messageTokens(this.input);
  }

  /** Tokens of the pinned prefix: system prompt, tools and the task. */
  get pinnedTokens(): number {
    return this.prefixTokens;
  }

  /** Adds the model's answer; it starts a turn. */
  addAnswer(message: Message, op: number): void {
    this.turn += 1;
    this.working.push({ message, op, tokens: this.messageTokens(message), turn: this.turn });
  }

  /** Adds a tool result to the current turn. */
  addToolResult(message: Message, op: number): void {
    this.working.push({ message, op, tokens: this.messageTokens(message), turn: this.turn });
  }

  /** Tokens of one message as the memory manager counts them (deterministic: no calibration). */
  messageTokens(message: Message): number {
    const calls =
      message.role === 'assistant' && message.toolCalls !== undefined && message.toolCalls.length > 0
        ? this.tokens.count(JSON.stringify(message.toolCalls))
        : 0;
    return messageOverhead + this.tokens.count(message.content) + calls;
  }

  /** The request's messages: the task, the page table, the working set, then `tail`. */
  assemble(tail: readonly Message[]): AssembledContext {
    const pageTable = this.pageTableMessages();
    const messages: Message[] = [this.input];
    const breakpoints = [0];
    if (pageTable.length > 0) {
      messages.push(...pageTable);
      breakpoints.push(messages.length - 1);
    }
    for (const entry of this.working) messages.push(entry.message);
    if (this.working.length > 0) breakpoints.push(messages.length - 1);
    messages.push(...tail);
    const segments: SegmentTokens = {
      prefix: this.prefixTokens,
      pageTable: this.pageTableTokens(pageTable),
      workingSet: this.workingTokens(),
      tail: tail.reduce((sum, message) => sum + this.messageTokens(message), 0),
    };
    const total =
      segments.prefix + segments.pageTable + segments.workingSet + segments.tail + this.settings.reserve;
    return { messages, breakpoints: [...new Set(breakpoints)], segments, total };
  }

  /** Tokens of the request with a tail of `tailTokens`, the reserve included. */
  size(tailTokens: number): number {
    return (
      this.prefixTokens +
      this.pageTableTokens(this.pageTableMessages()) +
      this.workingTokens() +
      tailTokens +
      this.settings.reserve
    );
  }

  /** Whether the context is close enough to the high watermark that the agent should be told. */
  underPressure(tailTokens: number): boolean {
    return this.size(tailTokens) > (this.settings.low + this.settings.high) / 2;
  }

  /**
   * The oldest entries to page out so the request fits under the low watermark, whole
   * turns only, never the last turn; none when it is under the high watermark. After a
   * provider said the request was too long (`force`), its count and ours differ: page out
   * down to half of what we counted (or the low watermark, if that is less). Undefined:
   * nothing to do, or nothing that can be paged out.
   */
  planEviction(tailTokens: number, force = false): ContextEntry[] | undefined {
    const size = this.size(tailTokens);
    if (!force && size <= this.settings.high) return undefined;
    const target = force ? Math.min(this.settings.low, Math.floor(size / 2)) : this.settings.low;
    const lastTurn = this.working.at(-1)?.turn;
    // A new stub costs a line in the page table: count it against what paging out frees.
    const stubCost = 60;
    let freed = 0;
    let count = 0;
    while (count < this.working.length) {
      const turn = this.working[count]!.turn;
      if (turn === lastTurn) break;
      if (size - freed + stubCost <= target && count > 0) break;
      while (count < this.working.length && this.working[count]!.turn === turn) {
        freed += this.working[count]!.tokens;
        count += 1;
      }
    }
    return count === 0 ? undefined : this.working.slice(0, count);
  }

  /** Replaces the first `count` entries of the working set by a page-table stub. */
  pageOut(count: number, stub: PageStub): void {
    this.working = this.working.slice(count);
    this.pages.push(stub);
  }

  /**
   * What is journaled with a model call: tokens per segment, the request's estimated
   * input tokens, and how many of them repeat the start of the previous request (the
   * pinned prefix always; the page table and the working set too unless something was
   * paged out since): the kernel's own prefix-reuse figure, known even where a provider
   * does not report cached tokens.
   */
  accounting(assembled: AssembledContext, prefetched: readonly string[]): Record<string, unknown> {
    const stable = assembled.segments.prefix + assembled.segments.pageTable + assembled.segments.workingSet;
    const previous = this.previousAssembly;
    const reused =
      previous === undefined
        ? 0
        : previous.pages === this.pages.length && this.working.length >= previous.working
          ? previous.stable
          : assembled.segments.prefix;
    this.previousAssembly = { pages: this.pages.length, working: this.working.length, stable };
    const input = stable + assembled.segments.tail;
    return {
      prefixTokens: assembled.segments.prefix,
      pageTableTokens: assembled.segments.pageTable,
      workingSetTokens: assembled.segments.workingSet,
      tailTokens: assembled.segments.tail,
      inputTokens: input,
      reusedTokens: Math.min(reused, input),
      window: this.settings.window,
      pages: this.pages.length,
      prefetched,
      pageTableMessages: this.pages.length,
      workingSetMessages: this.working.length,
      tailMessages: assembled.messages.length - 1 - this.pages.length - this.working.length,
    };
  }

  /** The id the next page gets. */
  nextPageId(): string {
    return `p${this.pages.length + 1}`;
  }

  private workingTokens(): number {
    let total = 0;
    for (const entry of this.working) total += entry.tokens;
    return total;
  }

  private pageTableTokens(messages: readonly Message[]): number {
    return messages.reduce((sum, message) => sum + this.messageTokens(message), 0);
  }

  /**
   * The page table: one message per page, the first with how to read them back, so a
   * page-out only appends a message and leaves the ones before it byte-identical (a
   * provider that caches at breakpoints still reads the table up to the last stub).
   */
  private pageTableMessages(): Message[] {
    if (this.pages.length === 0) return [];
    const line = (page: PageStub) =>
      `${page.id}: operations ${page.fromOp}-${page.toOp} (${page.messages} messages, ${page.tokens} tokens): ${page.summary}`;
    const how = this.canRecall
      ? `To read one back whole, call recall with its id (e.g. recall {"id": "${this.pages[0]!.id}"}); recall with a query searches them.`
      : 'They are kept in memory (this agent has no recall tool to read them back).';
    return this.pages.map((page, index) => ({
      role: 'notice' as const,
      content:
        index === 0
          ? `[aos] Earlier parts of this conversation were paged out to memory. ${how}\n${line(page)}`
          : `[aos] Also paged out: ${line(page)}`,
    }));
  }
}
