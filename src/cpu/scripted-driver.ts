/**
 * The scripted CPU: a deterministic model for demos, tests and benchmarks. It keeps
 * no state of its own: the next turn follows from the request (the last turn
 * number is journaled in the assistant message's meta), so it survives crashes
 * exactly like a real model whose answers are journaled.
 */
import { AosError } from '../errors.js';
import { abortableDelay } from './abortable-delay.js';
import {
  estimateTokens,
  type Message,
  type ModelDriver,
  type ModelRequest,
  type ModelResponse,
  type ToolCall,
} from './model.js';
import { compileMatch, type Script, type ScriptTurn } from './script.js';

/** Runs a script; `requests` counts the calls it answered (for demos and tests). */
export class ScriptedDriver implements ModelDriver {
  requests = 0;
  private readonly matchers: (((text: string) => boolean) | undefined)[];

  /** Token estimates of messages already seen, so a long context is not re-measured at every step. */
  private readonly measured = new WeakMap<object, number>();

  constructor(private readonly script: Script) {
    this.matchers = script.turns.map((turn, index) =>
      turn.match === undefined
        ? undefined
        : compileMatch(turn.match, `${script.source}: turns.${index}.match`),
    );
  }

  private inputTokens(request: ModelRequest): number {
    let total = estimateTokens(request.system);
    for (const message of request.messages) {
      let tokens = this.measured.get(message);
      if (tokens === undefined) {
        tokens = messageTokens(message);
        this.measured.set(message, tokens);
      }
      total += tokens;
    }
    return total;
  }

  async complete(request: ModelRequest, options: { signal: AbortSignal }): Promise<ModelResponse> {
    const next = nextTurnIndex(request);
    const lastObservation = lastObservationOf(request);
    let chosen = -1;
    for (let index = next; index < this.script.turns.length; index++) {
      const matcher = this.matchers[index];
      if (matcher === undefined || matcher(lastObservation)) {
        chosen = index;
        break;
      }
    }
    if (chosen === -1) {
      throw new AosError(
        'invalid_input',
        `script ${this.script.source} ran out of turns: no turn after turn ${next - 1} fits (it has ${this.script.turns.length})`,
        { hint: 'add turns to the script, or end it with a turn that has finish:' },
      );
    }
    const turn = this.script.turns[chosen]!;
    await abortableDelay(turn.delay_ms ?? this.script.delay_ms ?? 0, options.signal);
    this.requests += 1;
    const variables = templateVariables(request, lastObservation);
    const filled = fill(turn.text ?? '', variables);
    const content = typeof filled === 'string' ? filled : JSON.stringify(filled);
    const toolCalls = toolCallsOf(turn, chosen, variables);
    return {
      content,
      toolCalls,
      usage: {
        inputTokens: this.inputTokens(request),
        outputTokens: estimateTokens(content + JSON.stringify(toolCalls)),
      },
      meta: { turn: chosen },
    };
  }
}

function messageTokens(message: Message): number {
  return estimateTokens(
    message.role === 'assistant'
      ? message.content + JSON.stringify(message.toolCalls ?? [])
      : message.content,
  );
}

function nextTurnIndex(request: ModelRequest): number {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index]!;
    if (message.role === 'assistant' && typeof message.meta?.turn === 'number') return message.meta.turn + 1;
  }
  return 0;
}

function lastObservationOf(request: ModelRequest): string {
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index]!;
    if (message.role !== 'assistant') return message.content;
  }
  return '';
}

/** Values a template can name: input, last, observations, and result.N (tool result N of the last turn, parsed). */
function templateVariables(request: ModelRequest, last: string): Record<string, unknown> {
  const firstUser = request.messages.find((message) => message.role === 'user');
  const observations: string[] = [];
  for (let index = request.messages.length - 1; index >= 0; index--) {
    const message = request.messages[index]!;
    if (message.role === 'assistant') break;
    if (message.role === 'tool') observations.unshift(message.content);
  }
  return {
    input: firstUser?.content ?? '',
    last,
    observations: observations.join('\n'),
    result: observations.map(parseIfJson),
  };
}

function parseIfJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toolCallsOf(turn: ScriptTurn, index: number, variables: Record<string, unknown>): ToolCall[] {
  const calls: ToolCall[] = (turn.tool_calls ?? []).map((call, position) => ({
    id: call.id ?? `t${index}_${position}`,
    name: call.name,
    arguments: fill(call.arguments ?? {}, variables) as Record<string, unknown>,
  }));
  if (turn.finish !== undefined) {
    calls.push({
      id: `t${index}_finish`,
      name: 'finish',
      arguments: { result: fill(turn.finish, variables) },
    });
  }
  return calls;
}

/**
 * Replaces {{name}} and {{name.path.to.value}} in every string inside `value`. A string
 * that is exactly one template takes the value itself (a number stays a number).
 */
function fill(value: unknown, variables: Record<string, unknown>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{\{\s*([\w.]+)\s*\}\}$/.exec(value);
    if (whole !== null) {
      const found = lookUp(variables, whole[1]!);
      return found === undefined ? value : found;
    }
    return value.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (template, path: string) => {
      const found = lookUp(variables, path);
      if (found === undefined) return template;
      return typeof found === 'string' ? found : JSON.stringify(found);
    });
  }
  if (Array.isArray(value)) return value.map((item) => fill(item, variables));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, variables)]));
  }
  return value;
}

function lookUp(variables: Record<string, unknown>, path: string): unknown {
  let current: unknown = variables;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}
