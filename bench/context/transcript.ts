/**
 * The transcript of bench/context: a seeded sequence of agent steps, each one short
 * answer that calls `observe` (a log, a JSON listing, source code, prose or a CSV
 * table of a chosen size, most a few hundred tokens, some a few thousand, some 20,000),
 * and the text each call returns. The same for every contender and every run.
 */
import { TokenCounter } from '../../src/cpu/token-counter.js';

export type OutputKind = 'log' | 'json' | 'code' | 'prose' | 'table';

export interface TranscriptStep {
  /** 1-based. */
  step: number;
  /** The model's answer text. */
  text: string;
  /** observe's arguments. */
  args: { source: string; kind: OutputKind; tokens: number; seed: number };
}

const counter = new TokenCounter();

/** A seeded generator (Park-Miller), in [0, 1). */
export function random(seed: number): () => number {
  let state = seed % 2147483647 || 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return state / 2147483647;
  };
}

const services = ['billing', 'auth', 'search', 'ingest', 'gateway', 'scheduler', 'ledger', 'notify'];
const levels = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];
const words = [
  'the',
  'request',
  'queue',
  'latency',
  'rose',
  'after',
  'deploy',
  'replica',
  'lag',
  'timeout',
  'retry',
  'budget',
  'shard',
  'index',
  'rebuild',
  'customer',
  'invoice',
  'cache',
  'eviction',
  'lock',
  'contention',
  'was',
  'observed',
  'during',
  'peak',
  'traffic',
  'and',
  'resolved',
  'by',
  'rollback',
];
const kinds: OutputKind[] = ['log', 'json', 'code', 'prose', 'table'];

/** The steps of a run of `count` observe calls, from `seed`. */
export function transcript(count: number, seed: number): TranscriptStep[] {
  const next = random(seed);
  const steps: TranscriptStep[] = [];
  for (let step = 1; step <= count; step++) {
    const roll = next();
    // 4% huge (20k tokens), 12% large (1k-4k), the rest 60-800.
    const tokens =
      roll < 0.04 ? 20_000 : roll < 0.16 ? 1000 + Math.floor(next() * 3000) : 60 + Math.floor(next() * 740);
    const kind = kinds[Math.floor(next() * kinds.length)]!;
    const service = services[Math.floor(next() * services.length)]!;
    const source =
      kind === 'log'
        ? `logs/${service}/2026-11-${String(1 + (step % 28)).padStart(2, '0')}.log`
        : kind === 'json'
          ? `GET /api/${service}/records?page=${step}`
          : kind === 'code'
            ? `src/${service}/handler-${step % 17}.ts`
            : kind === 'prose'
              ? `docs/runbooks/${service}.md`
              : `reports/${service}-usage-${step}.csv`;
    const text =
      step % 7 === 0
        ? `Step ${step}: the ${service} numbers do not add up yet; looking at ${source} next.`
        : `Step ${step}: checking ${source} for the ${service} incident.`;
    steps.push({ step, text, args: { source, kind, tokens, seed: seed * 1000 + step } });
  }
  return steps;
}

/** What observe returns for `args`: text of about `args.tokens` tokens, of its kind, the same for the same seed. */
export function observeOutput(args: TranscriptStep['args']): string {
  const next = random(args.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)]!;
  const lines: string[] = [`# ${args.source}`];
  let tokens = counter.count(lines[0]!);
  let index = 0;
  while (tokens < args.tokens) {
    index += 1;
    const line = lineOf(args.kind, index, next, pick);
    lines.push(line);
    tokens += counter.count(line) + 1;
  }
  return lines.join('\n');
}

function lineOf(
  kind: OutputKind,
  index: number,
  next: () => number,
  pick: <T>(list: readonly T[]) => T,
): string {
  const sentence = (length: number) => Array.from({ length }, () => pick(words)).join(' ');
  switch (kind) {
    case 'log': {
      const seconds = String(Math.floor(next() * 60)).padStart(2, '0');
      const ms = String(Math.floor(next() * 1000)).padStart(3, '0');
      return `2026-11-30T14:${String(index % 60).padStart(2, '0')}:${seconds}.${ms}Z ${pick(levels)} ${pick(services)}[${1000 + Math.floor(next() * 9000)}]: ${sentence(6)} took=${Math.floor(next() * 5000)}ms shard=${Math.floor(next() * 64)}`;
    }
    case 'json':
      return `  {"id": "${Math.floor(next() * 1e9).toString(36)}", "service": "${pick(services)}", "amount": ${(next() * 1000).toFixed(2)}, "status": "${pick(['ok', 'pending', 'failed'])}", "note": "${sentence(4)}"},`;
    case 'code':
      return index % 6 === 1
        ? `export function ${pick(words)}${index}(${pick(words)}: number, ${pick(words)}: string): boolean {`
        : index % 6 === 0
          ? '}'
          : `  const ${pick(words)}${index} = ${pick(words)}.${pick(words)}(${Math.floor(next() * 100)}); // ${sentence(3)}`;
    case 'prose':
      return `${sentence(10 + Math.floor(next() * 10))}.`;
    case 'table':
      return `${index},${pick(services)},${Math.floor(next() * 100000)},${(next() * 100).toFixed(1)}%,${pick(['ok', 'degraded', 'down'])}`;
  }
}
