/**
 * The process mix of bench/chaos as data: what each program is given (a JSON input)
 * and the result it must end with, computed here without running it, so the harness
 * can compare every process's result after the chaos.
 */

/** The input of every chaos program (JSON in the process's input text). */
export interface ChaosInput {
  tag: string;
  /** Steps per sequence, per branch, or per child. */
  steps: number;
  /** Parallel branches (chaos-parallel), or children (chaos-parent). */
  width: number;
  /** Durable sleep length (chaos-sleeper). */
  sleepMs: number;
  /** Messages to receive (chaos-collector). */
  count: number;
}

export function parseInput(text: string): ChaosInput {
  return JSON.parse(text) as ChaosInput;
}

/** The value step `index` returns in a sequence: deterministic, not trivially the index. */
export function stepValue(index: number): number {
  return (index * 7 + 3) % 11;
}

export function sequenceResult(input: ChaosInput): string {
  let total = 0;
  for (let index = 0; index < input.steps; index++) total += stepValue(index);
  return `${input.tag}:${total}`;
}

export function branchLetter(branch: number): string {
  return String.fromCharCode(97 + branch);
}

export function parallelResult(input: ChaosInput): string {
  const branches = Array.from({ length: input.width }, (_, branch) =>
    branchLetter(branch).repeat(input.steps),
  );
  return `${input.tag}:${branches.join('-')}`;
}

export function sleeperResult(input: ChaosInput): string {
  return `${input.tag}:xyz`;
}

/** The inputs a parent gives its children. */
export function childInputs(input: ChaosInput): ChaosInput[] {
  return Array.from({ length: input.width }, (_, child) => ({
    tag: `${input.tag}.c${child}`,
    steps: input.steps,
    width: 2,
    sleepMs: 0,
    count: 0,
  }));
}

/** A child: two branches of `steps` steps, like a small parallel program. */
export function childResult(input: ChaosInput): string {
  return parallelResult(input);
}

export function parentResult(input: ChaosInput): { tag: string; children: string[] } {
  return { tag: input.tag, children: childInputs(input).map(childResult) };
}

/** The messages each scripted agent sends to the collector, in order. */
export const agentMessages = ['m1', 'm2', 'm3'];

/** What a scripted agent finishes with. */
export const agentResult = 'sent 3';

/** The collector's result: every message as "sender:body", sorted. */
export function collectorResult(agentPids: number[]): string[] {
  return agentPids.flatMap((pid) => agentMessages.map((message) => `${pid}:${message}`)).sort();
}

/** The expected result of a program process from its agent name and input; undefined for others. */
export function expectedProgramResult(agent: string, inputText: string): unknown {
  const input = parseInput(inputText);
  if (agent === 'chaos-sequence') return sequenceResult(input);
  if (agent === 'chaos-parallel') return parallelResult(input);
  if (agent === 'chaos-sleeper') return sleeperResult(input);
  if (agent === 'chaos-parent') return parentResult(input);
  if (agent === 'chaos-child') return childResult(input);
  return undefined;
}
