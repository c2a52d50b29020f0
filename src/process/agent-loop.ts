/**
 * The kernel's loop for one process, one slice at a time: rebuild the context from
 * the journal, recover steps a dead worker left half done, then repeat (deliver
 * signals, check limits, take one step) until the process exits, blocks, stops,
 * yields its turn, or loses its lease. Every step is journaled before the next.
 */
import {
  acquireCpu,
  costNanos as costOf,
  type Device,
  deviceFor,
  isRationed,
  releaseCpu,
} from '../cpu/devices.js';
import type { Message, ModelRequest, ModelResponse, ToolCall } from '../cpu/model.js';
import type { ModelResolver } from '../cpu/resolve-model.js';
import type { TokenCounter } from '../cpu/token-counter.js';
import { parseDuration } from '../duration.js';
import { toAosError } from '../errors.js';
import { type Tool, type ToolOutcome, toolSpecOf } from '../io/tool.js';
import type { ToolRegistry } from '../io/tool-registry.js';
import type { Db, Queryable } from '../storage/db.js';
import { LeaseLostError } from '../storage/postgres-errors.js';
import type { AgentDefinition } from './agent-definition.js';
import { formatUsd, type OwnerBudget, ownerBudgetOf } from './budgets.js';
import {
  appendStep,
  digestOf,
  finishStep,
  type Lease,
  loadJournal,
  type StepRecord,
  type StepWritten,
} from './journal.js';
import type { ProcessRow } from './process-table.js';
import { type SignalName, signalNumbers } from './signals.js';
import type { SliceControl } from './slice-control.js';

/** How a slice ended. */
export type SliceOutcome = 'exited' | 'blocked' | 'stopped' | 'yielded' | 'released' | 'lease-lost';

/** Everything a slice needs. */
export interface SliceOptions {
  db: Db;
  tools: ToolRegistry;
  models: ModelResolver;
  definition: AgentDefinition;
  process: ProcessRow;
  lease: Lease;
  control: SliceControl;
  /** After this long, the slice gives its worker slot to another ready process. */
  quantumMs: number;
  /** Counts request tokens before rationed calls; shared by a worker's slices. */
  tokens: TokenCounter;
  /** The context as this worker left it after an earlier slice: only newer steps are read. */
  cached?: CachedContext | undefined;
  /** Receives the context at the end of a slice that left no call half done, for the next slice. */
  keep?: (context: CachedContext) => void;
}

/** A process's context up to a journal step, kept in a worker between slices. */
export interface CachedContext {
  lastSeq: number;
  messages: Message[];
}

/** Largest tool result kept in the context, in characters; the rest is cut with a note. */
export const maxToolResultChars = 100_000;

/** Runs one slice of a process. Never throws for the process's own failures: they end the process. */
export async function runSlice(options: SliceOptions): Promise<SliceOutcome> {
  const slice = new Slice(options);
  try {
    const outcome = await slice.run();
    if (outcome !== 'exited' && outcome !== 'lease-lost' && !slice.unfinished)
      options.keep?.(slice.snapshot());
    return outcome;
  } catch (error) {
    if (
      error instanceof LeaseLostError ||
      options.control.everything.signal.reason?.message === 'lease lost'
    ) {
      return 'lease-lost';
    }
    const aosError = toAosError(error);
    if (aosError.code === 'unavailable') throw aosError;
    // A failure of the kernel itself on this process: end it rather than retry a deterministic bug forever.
    try {
      await slice.exit(
        1,
        null,
        { code: aosError.code, message: aosError.message },
        { kind: 'exit', status: 'done' },
      );
    } catch (exitError) {
      if (exitError instanceof LeaseLostError) return 'lease-lost';
      throw exitError;
    }
    return 'exited';
  }
}

class Slice {
  private readonly db: Db;
  private readonly lease: Lease;
  private readonly control: SliceControl;
  private readonly definition: AgentDefinition;
  private readonly process: ProcessRow;
  private context: Message[] = [];
  /** The last journal step included in `context`. */
  private lastSeq = 0;
  /** A tool call was left started (killed or lease lost while it ran). */
  unfinished = false;
  private pending: Set<string>;
  private stepsUsed: number;
  private termDeadlineStep: number | null;
  private termDeadlineAt: number | null;
  private readonly startedAt: number;
  /** The model string this process runs: its own override, else its agent's. */
  private readonly model: string;
  private device: Device | undefined;
  private tokensUsed: number;
  private costUsedNanos: number;
  private ownerBudget: OwnerBudget | undefined;

  constructor(private readonly options: SliceOptions) {
    this.db = options.db;
    this.lease = options.lease;
    this.control = options.control;
    this.definition = options.definition;
    this.process = options.process;
    this.pending = new Set(options.process.pending_signals);
    this.stepsUsed = options.process.steps_used;
    this.termDeadlineStep = options.process.term_deadline_step;
    this.termDeadlineAt = options.process.term_deadline_at?.getTime() ?? null;
    this.startedAt = (options.process.started_at ?? new Date()).getTime();
    this.model = options.process.model ?? options.definition.model;
    this.tokensUsed = options.process.tokens_used;
    this.costUsedNanos = options.process.cost_nanos;
  }

  async run(): Promise<SliceOutcome> {
    let tools: Tool[];
    try {
      tools = this.options.tools.select(this.definition.tools, `agent ${this.definition.name}`);
    } catch (error) {
      const aosError = toAosError(error);
      await this.exit(
        1,
        null,
        { code: aosError.code, message: aosError.message },
        { kind: 'exit', status: 'done' },
      );
      return 'exited';
    }
    this.device = await deviceFor(this.db, this.model);
    this.ownerBudget = await ownerBudgetOf(this.db, this.process.owner);
    const cached = this.options.cached;
    const journal = await loadJournal(this.db, this.lease.pid, cached?.lastSeq ?? 0);
    this.context = [...(cached?.messages ?? []), ...journal.flatMap((step) => step.messages)];
    this.lastSeq = journal.at(-1)?.seq ?? cached?.lastSeq ?? 0;
    for (const step of journal) {
      if (step.kind === 'tool' && step.status === 'started') await this.recover(step.seq, step, tools);
    }
    const sliceStart = Date.now();
    for (;;) {
      const boundary = await this.atBoundary();
      if (boundary !== undefined) return boundary;
      if (Date.now() - sliceStart > this.options.quantumMs && (await this.othersAreReady())) {
        await this.release('ready');
        return 'yielded';
      }
      const call = this.nextToolCall();
      const outcome = call === undefined ? await this.modelStep(tools) : await this.toolStep(call, tools);
      if (outcome !== undefined) return outcome;
    }
  }

  /** A tool step a dead worker journaled as started and never finished. */
  private async recover(
    seq: number,
    step: { name: string | null; callId: string | null; input: unknown },
    tools: Tool[],
  ) {
    const tool = tools.find((candidate) => candidate.name === step.name);
    const call: ToolCall = {
      id: step.callId ?? '',
      name: step.name ?? '',
      arguments: (step.input ?? {}) as never,
    };
    if (tool?.annotations.idempotent) {
      await this.runPlainTool(tool, call, call.arguments, seq);
      return;
    }
    const message = toolMessage(
      call,
      `unknown outcome: the worker running this ${call.name} call stopped before it reported a result. ` +
        'It may or may not have taken effect; check before you repeat it.',
      true,
    );
    await this.write(() =>
      finishStep(this.db, this.lease, seq, {
        status: 'unknown-outcome',
        messages: [message],
        audit: toolAudit(call, 'unknown-outcome', message),
      }),
    );
    this.context.push(message);
  }

  /** Signals, limits and shutdown, between two steps. Returns an outcome when the slice must end. */
  private async atBoundary(): Promise<SliceOutcome | undefined> {
    for (const signal of this.control.arrived) this.pending.add(signal);
    this.control.arrived.clear();
    if (this.pending.has('KILL') || this.control.everything.signal.aborted) {
      if (this.control.everything.signal.reason?.message === 'lease lost') return 'lease-lost';
      await this.exit(
        128 + signalNumbers.KILL,
        null,
        killedError('killed by signal KILL'),
        signalStep('KILL'),
      );
      return 'exited';
    }
    if (this.pending.has('STOP')) {
      await this.db.transaction(async (tx) => {
        await appendStep(tx, this.lease, { ...signalStep('STOP'), handledSignals: ['STOP'] });
        await this.releaseIn(tx, 'stopped');
      });
      return 'stopped';
    }
    if (this.pending.has('XCPU')) {
      await this.exit(
        128 + signalNumbers.XCPU,
        null,
        limitError('stopped by signal XCPU'),
        signalStep('XCPU'),
      );
      return 'exited';
    }
    if (this.pending.has('TERM')) await this.deliverTerm();
    if (this.pending.has('INT'))
      await this.noticeStep('INT', 'your previous model call was interrupted (signal INT)');
    if (this.control.shuttingDown) {
      await this.release('ready');
      return 'released';
    }
    const graceOver =
      (this.termDeadlineStep !== null && this.stepsUsed >= this.termDeadlineStep) ||
      (this.termDeadlineAt !== null && Date.now() >= this.termDeadlineAt);
    if (graceOver) {
      await this.exit(
        128 + signalNumbers.KILL,
        null,
        killedError('killed: did not finish within the grace period after TERM'),
        signalStep('KILL'),
      );
      return 'exited';
    }
    const limit = this.limitReached();
    if (limit !== undefined) {
      await this.exit(128 + signalNumbers.XCPU, null, limitError(limit), signalStep('XCPU'));
      return 'exited';
    }
    return undefined;
  }

  private limitReached(): string | undefined {
    const limits = { ...this.definition.limits, ...(this.process.limits as AgentDefinition['limits']) };
    if (limits.max_steps !== undefined && this.stepsUsed >= limits.max_steps) {
      return `step limit reached: ${this.stepsUsed} of ${limits.max_steps} steps used`;
    }
    if (limits.max_tokens !== undefined && this.tokensUsed >= limits.max_tokens) {
      return `token limit reached: ${this.tokensUsed} of ${limits.max_tokens} tokens used`;
    }
    if (limits.max_cost !== undefined && this.costUsedNanos >= Math.round(limits.max_cost * 1e9)) {
      return `cost limit reached: $${formatUsd(this.costUsedNanos)} of $${limits.max_cost} spent`;
    }
    const owner = this.ownerBudget;
    if (owner !== undefined) {
      const tokens = owner.tokensUsed + this.tokensUsed - this.process.tokens_used;
      const cost = owner.costNanos + this.costUsedNanos - this.process.cost_nanos;
      if (owner.maxTokens !== null && tokens >= owner.maxTokens) {
        return `owner ${this.process.owner}'s token budget reached: ${tokens} of ${owner.maxTokens} tokens used`;
      }
      if (owner.maxCostNanos !== null && cost >= owner.maxCostNanos) {
        return `owner ${this.process.owner}'s cost budget reached: $${formatUsd(cost)} of $${formatUsd(owner.maxCostNanos)} spent`;
      }
    }
    if (limits.max_wall_time !== undefined) {
      const allowed = parseDuration(limits.max_wall_time, 'limits.max_wall_time');
      const elapsed = Date.now() - this.startedAt;
      if (elapsed >= allowed) return `wall time limit reached: ${elapsed} ms of ${allowed} ms`;
    }
    return undefined;
  }

  /** TERM: tell the process to wrap up, interrupt a blocking call, start the grace period. */
  private async deliverTerm(): Promise<void> {
    const messages: Message[] = [];
    const blockedCall = this.process.wait_detail?.callId;
    const unresolved = this.nextToolCall();
    if (typeof blockedCall === 'string' && unresolved?.id === blockedCall) {
      messages.push(toolMessage(unresolved, 'interrupted by signal TERM before it completed', true));
    }
    const graceSteps = this.definition.termGraceSteps;
    const graceMs = this.definition.termGraceMs;
    messages.push({
      role: 'notice',
      content:
        `[aos] signal TERM: you are being stopped. Finish or save your work within ${graceSteps} steps ` +
        `or ${Math.round(graceMs / 1000)} s, then call finish; after that the process is killed.`,
    });
    this.termDeadlineStep = this.stepsUsed + graceSteps;
    this.termDeadlineAt = Date.now() + graceMs;
    await this.db.transaction(async (tx) => {
      const written = await appendStep(tx, this.lease, {
        ...signalStep('TERM'),
        messages,
        handledSignals: ['TERM'],
      });
      await tx.query(
        'update aos.processes set term_deadline_step = $2, term_deadline_at = $3, wait_detail = null where pid = $1',
        [this.lease.pid, this.termDeadlineStep, new Date(this.termDeadlineAt!)],
      );
      this.absorb(written, ['TERM']);
    });
    this.context.push(...messages);
  }

  private async noticeStep(signal: SignalName, text: string): Promise<void> {
    const message: Message = { role: 'notice', content: `[aos] ${text}` };
    const written = await this.write(() =>
      appendStep(this.db, this.lease, {
        ...signalStep(signal),
        messages: [message],
        handledSignals: [signal],
      }),
    );
    this.absorb(written, [signal]);
    this.context.push(message);
  }

  /** The first tool call of the last model turn that has no result yet. */
  private nextToolCall(): ToolCall | undefined {
    const resolved = new Set<string>();
    for (let index = this.context.length - 1; index >= 0; index--) {
      const message = this.context[index]!;
      if (message.role === 'tool') resolved.add(message.toolCallId);
      if (message.role === 'assistant') {
        return (message.toolCalls ?? []).find((call) => !resolved.has(call.id));
      }
    }
    return undefined;
  }

  private async modelStep(tools: Tool[]): Promise<SliceOutcome | undefined> {
    let response: ModelResponse;
    const request: ModelRequest = {
      model: this.model.slice(this.model.indexOf(':') + 1),
      system: this.definition.prompt,
      messages: this.context,
      tools: tools.map(toolSpecOf),
    };
    let counted = 0;
    let grantId: number | undefined;
    if (isRationed(this.device)) {
      counted = this.options.tokens.countRequest(request);
      const estimate = Math.ceil(this.options.tokens.estimate(this.model, request) * 1.05);
      const acquired = await this.write(() =>
        acquireCpu(this.db, this.device!.name, this.lease.pid, estimate),
      );
      if (!acquired.granted) {
        await this.park('rate-limit', acquired.retryAt, this.device.name);
        return 'blocked';
      }
      grantId = acquired.grantId;
    }
    const signal = this.control.beginModelCall();
    const callStartedAt = new Date();
    let reported: number | null = null;
    try {
      const driver = this.options.models(this.definition, this.model);
      response = await driver.complete(request, { signal });
      reported = response.usage.inputTokens;
    } catch (error) {
      if (signal.aborted) return undefined; // INT or KILL: handled at the next boundary
      const aosError = toAosError(error);
      if (aosError.code === 'internal') throw error;
      await this.exit(
        1,
        null,
        { code: aosError.code, message: aosError.message },
        { kind: 'exit', status: 'done' },
      );
      return 'exited';
    } finally {
      this.control.endModelCall();
      if (grantId !== undefined) await releaseCpu(this.db, grantId, reported);
    }
    if (counted > 0 && reported !== null) this.options.tokens.calibrate(this.model, counted, reported);
    if (this.control.arrived.has('INT')) this.control.arrived.delete('INT'); // it came too late to interrupt
    const message: Message = {
      role: 'assistant',
      content: response.content,
      ...(response.toolCalls.length > 0 ? { toolCalls: response.toolCalls } : {}),
      ...(response.meta === undefined ? {} : { meta: response.meta }),
    };
    const costNanos = costOf(this.device, response.usage);
    const step: StepRecord = {
      kind: 'model',
      name: this.model,
      status: 'done',
      output: { content: response.content, toolCalls: response.toolCalls, costNanos },
      messages: [message],
      usage: response.usage,
      costNanos,
      countsAsStep: true,
      startedAt: callStartedAt,
      audit: {
        kind: 'model-call',
        data: {
          model: this.model,
          usage: response.usage,
          costNanos,
          toolCalls: response.toolCalls.map((call) => call.name),
          output_sha256: digestOf(message),
        },
      },
    };
    this.tokensUsed += response.usage.inputTokens + response.usage.outputTokens;
    this.costUsedNanos += costNanos;
    if (response.toolCalls.length === 0) {
      // A plain answer ends the process, with the answer as its result.
      await this.exit(0, response.content, null, step);
      return 'exited';
    }
    const written = await this.write(() => appendStep(this.db, this.lease, step));
    this.stepsUsed += 1;
    this.absorb(written);
    this.context.push(message);
    return undefined;
  }

  private async toolStep(call: ToolCall, tools: Tool[]): Promise<SliceOutcome | undefined> {
    const tool = tools.find((candidate) => candidate.name === call.name);
    if (tool === undefined) {
      const known = tools.map((candidate) => candidate.name).join(', ');
      return this.failedCall(
        call,
        `invalid_input: unknown tool "${call.name}"; this agent's tools are: ${known}`,
      );
    }
    if (call.invalidArguments !== undefined) {
      return this.failedCall(
        call,
        `invalid_input: the arguments for ${tool.name} are not a JSON object: ${call.invalidArguments.slice(0, 500)}`,
      );
    }
    const parsed = tool.input.safeParse(call.arguments);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
      return this.failedCall(
        call,
        `invalid_input: bad arguments for ${tool.name}${where}: ${issue?.message ?? ''}`,
      );
    }
    if (tool.transactional) return this.runTransactionalTool(tool, call, parsed.data);
    await this.runPlainTool(tool, call, parsed.data);
    return undefined;
  }

  private async failedCall(call: ToolCall, text: string): Promise<undefined> {
    const message = toolMessage(call, text, true);
    const written = await this.write(() =>
      appendStep(this.db, this.lease, {
        kind: 'tool',
        name: call.name,
        callId: call.id,
        status: 'failed',
        input: call.arguments,
        output: { error: text },
        messages: [message],
        countsAsStep: true,
        audit: toolAudit(call, 'failed', message),
      }),
    );
    this.stepsUsed += 1;
    this.absorb(written);
    this.context.push(message);
    return undefined;
  }

  /** A kernel tool: runs inside the transaction that journals it (exactly once); may block or exit. */
  private async runTransactionalTool(tool: Tool, call: ToolCall, input: Record<string, unknown>) {
    const outcome = await this.write(() =>
      this.db.transaction(async (tx) => {
        const locked = await tx.query<ProcessRow>('select * from aos.check_lease($1, $2)', [
          this.lease.pid,
          this.lease.generation,
        ]);
        const result = await tool.run(input, {
          pid: this.lease.pid,
          callId: call.id,
          signal: this.control.everything.signal,
          definition: this.definition,
          db: tx,
          process: locked.rows[0]!,
        });
        if (result.kind === 'block') {
          await tx.query(
            `update aos.processes
                set state = $3, wait_reason = $4, wait_detail = $5, wake_at = $6,
                    lease_owner = null, lease_expires_at = null, updated_at = now()
              where pid = $1 and lease_generation = $2`,
            [
              this.lease.pid,
              this.lease.generation,
              result.state,
              result.reason,
              result.detail,
              result.wakeAt,
            ],
          );
          return { result, message: undefined };
        }
        const message = toolMessage(
          call,
          result.content,
          result.kind === 'result' && result.isError === true,
        );
        const written = await appendStep(tx, this.lease, {
          kind: 'tool',
          name: tool.name,
          callId: call.id,
          status: message.isError ? 'failed' : 'done',
          input,
          output: result.kind === 'result' ? (result.output ?? result.content) : { status: result.status },
          messages: [message],
          countsAsStep: true,
          audit: toolAudit(call, message.isError ? 'failed' : 'done', message),
        });
        if (result.kind === 'exit') {
          await tx.query('select aos.exit_process($1, $2, $3, $4)', [
            this.lease.pid,
            result.status,
            JSON.stringify(result.result),
            null,
          ]);
        }
        return { result, message, written };
      }),
    );
    if (outcome.result.kind === 'block') return 'blocked' as const;
    if (outcome.result.kind === 'exit') return 'exited' as const;
    this.stepsUsed += 1;
    if (outcome.written !== undefined) this.absorb(outcome.written);
    if (outcome.message !== undefined) this.context.push(outcome.message);
    return undefined;
  }

  /** Any other tool: journaled as started, run outside a transaction, journaled as done. */
  /**
   * Any other tool: run outside a transaction. A call that may have effects is journaled
   * as started before it runs, so a crash leaves a trace (unknown outcome). An idempotent
   * call is journaled once, when done: after a crash it simply runs again.
   */
  private async runPlainTool(
    tool: Tool,
    call: ToolCall,
    input: Record<string, unknown>,
    existingSeq?: number,
  ) {
    let seq = existingSeq;
    if (seq === undefined && !tool.annotations.idempotent) {
      const started = await this.write(() =>
        appendStep(this.db, this.lease, {
          kind: 'tool',
          name: tool.name,
          callId: call.id,
          status: 'started',
          input,
          audit: {
            kind: 'tool-call-started',
            data: { tool: call.name, callId: call.id, arguments_sha256: digestOf(input) },
          },
        }),
      );
      seq = started.seq;
    }
    const runStartedAt = new Date();
    let result: ToolOutcome;
    try {
      result = await tool.run(input, {
        pid: this.lease.pid,
        callId: call.id,
        signal: this.control.everything.signal,
        definition: this.definition,
        db: this.db,
        process: this.process,
      });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      result = { kind: 'result', content: `tool ${tool.name} failed: ${message}`, isError: true };
    }
    // Killed or lease lost while it ran: the call stays "started" and the boundary decides.
    if (this.control.everything.signal.aborted) {
      this.unfinished = true;
      return;
    }
    if (result.kind !== 'result') {
      result = {
        kind: 'result',
        content: `tool ${tool.name} may not block or exit the process`,
        isError: true,
      };
    }
    const content =
      result.content.length > maxToolResultChars
        ? `${result.content.slice(0, maxToolResultChars)}\n[aos] output cut at ${maxToolResultChars} of ${result.content.length} characters`
        : result.content;
    const message = toolMessage(call, content, result.isError === true);
    const done: StepRecord = {
      kind: 'tool',
      name: tool.name,
      callId: call.id,
      status: result.isError ? 'failed' : 'done',
      input,
      output: result.output ?? content,
      messages: [message],
      countsAsStep: true,
      startedAt: runStartedAt,
      audit: toolAudit(call, result.isError ? 'failed' : 'done', message),
    };
    const written = await this.write(() =>
      seq === undefined ? appendStep(this.db, this.lease, done) : finishStep(this.db, this.lease, seq, done),
    );
    this.stepsUsed += 1;
    this.absorb(written);
    this.context.push(message);
  }

  /** Ends the process, journaling `step` in the same transaction. */
  async exit(
    status: number,
    result: unknown,
    error: { code: string; message: string } | null,
    step: StepRecord,
  ) {
    await this.db.transaction(async (tx) => {
      await appendStep(tx, this.lease, step);
      await tx.query('select aos.exit_process($1, $2, $3, $4)', [
        this.lease.pid,
        status,
        result === null ? null : JSON.stringify(result),
        error === null ? null : JSON.stringify(error),
      ]);
    });
  }

  /** Parks the process until `wakeAt` (or until a slot frees up), releasing its lease. */
  private async park(reason: string, wakeAt: Date, device: string): Promise<void> {
    const result = await this.db.query(
      `update aos.processes
          set state = 'waiting', wait_reason = $3, wake_at = $4, device = $5,
              lease_owner = null, lease_expires_at = null, updated_at = now()
        where pid = $1 and lease_generation = $2 and state = 'running'`,
      [this.lease.pid, this.lease.generation, reason, wakeAt, device],
    );
    if (result.rowCount === 0) throw new LeaseLostError(`lease on process ${this.lease.pid} is lost`);
  }

  private async release(state: 'ready' | 'stopped'): Promise<void> {
    await this.db.transaction((tx) => this.releaseIn(tx, state));
  }

  private async releaseIn(tx: Queryable, state: 'ready' | 'stopped'): Promise<void> {
    const result = await tx.query(
      `update aos.processes set state = $3, lease_owner = null, lease_expires_at = null, updated_at = now()
        where pid = $1 and lease_generation = $2 and state = 'running'`,
      [this.lease.pid, this.lease.generation, state],
    );
    if (result.rowCount === 0) throw new LeaseLostError(`lease on process ${this.lease.pid} is lost`);
  }

  private async othersAreReady(): Promise<boolean> {
    const result = await this.db.query(
      "select 1 from aos.processes where state = 'ready' and pid <> $1 limit 1",
      [this.lease.pid],
    );
    return result.rowCount > 0;
  }

  /** The context so far, for the worker to keep. */
  snapshot(): CachedContext {
    return { lastSeq: this.lastSeq, messages: this.context };
  }

  /** Keeps the signals the database reports as pending, less those this write handled. */
  private absorb(written: StepWritten, handled: string[] = []): void {
    this.lastSeq = Math.max(this.lastSeq, written.seq);
    this.pending = new Set(written.pendingSignals.filter((signal) => !handled.includes(signal)));
  }

  /** Runs a journal write; a write after the slice was told its lease is gone is refused here too. */
  private async write<T>(work: () => Promise<T>): Promise<T> {
    if (this.control.everything.signal.reason?.message === 'lease lost') {
      throw new LeaseLostError(`lease on process ${this.lease.pid} is lost`);
    }
    return work();
  }
}

function toolMessage(call: ToolCall, content: string, isError: boolean): Message & { role: 'tool' } {
  return { role: 'tool', toolCallId: call.id, name: call.name, content, ...(isError ? { isError } : {}) };
}

/** The audit entry of a finished tool call: what was called, how it ended, digests of arguments and result. */
function toolAudit(call: ToolCall, status: string, message: Message) {
  return {
    kind: 'tool-call',
    data: {
      tool: call.name,
      callId: call.id,
      status,
      arguments_sha256: digestOf(call.arguments),
      result_sha256: digestOf(message),
    },
  };
}

function signalStep(signal: SignalName): StepRecord {
  return {
    kind: 'signal',
    name: signal,
    status: 'done',
    audit: { kind: 'signal-delivered', data: { signal } },
  };
}

function killedError(message: string) {
  return { code: 'killed', message };
}

function limitError(message: string) {
  return { code: 'limit_exceeded', message };
}
