/**
 * The contract between bench/step-overhead/peers.ts and a contender, a script run in a fresh
 * child process as `node SCRIPT N SIZE DATABASE_URL`. The contender sets itself up, runs one
 * warm-up workflow of `warmupSteps` steps, prints `{"ready":true}`, waits for a line on
 * stdin (the harness reads its counters then), runs one workflow of N no-op steps whose
 * results are SIZE-byte strings, and prints one JSON line: {contender, n, size, ms, ...}.
 * After a second line on stdin (counters read again) it counts the steps the workflow
 * journaled, prints `{"journaled":COUNT}` and exits; a count other than N is an error.
 */
import { createInterface } from 'node:readline';

/** Steps of the warm-up workflow every contender runs before the measured one, whatever N. */
export const warmupSteps = 50;

/** What a contender's setup returns: a way to run one workflow of `n` steps, and to close. */
export interface Contender {
  /** Runs one workflow of `n` steps to its end; resolves to the workflow's id. */
  run(n: number): Promise<string>;
  /** The number of steps that the workflow `id` journaled, read from the database. */
  journaled(id: string): Promise<number>;
  close(): Promise<void>;
  /** Versions and settings to report with the result. */
  details: Record<string, unknown>;
}

/** Thrown by a setup when the contender cannot run here (the harness reports the reason). */
export class ContenderSkipped extends Error {}

const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The step result of a workflow: a string of `size` bytes, the same in every contender, that
 * needs no escaping in JSON and does not compress (PostgreSQL would shrink a 4 KB run of one
 * letter to a few dozen bytes, and the WAL with it).
 */
export function payloadOf(size: number): string {
  let state = 0x9e3779b9;
  let text = '';
  for (let index = 0; index < size; index++) {
    // xorshift32: deterministic, and random enough that pglz finds nothing to reuse.
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    text += alphabet[(state >>> 0) % alphabet.length];
  }
  return text;
}

function argumentsOf(argv: string[]): { n: number; size: number; databaseUrl: string } {
  const [n, size, databaseUrl] = argv.slice(2).map(String);
  if (n === undefined || size === undefined || databaseUrl === undefined) {
    throw new Error('usage: node CONTENDER.js N SIZE DATABASE_URL');
  }
  const steps = Number(n);
  const bytes = Number(size);
  if (!Number.isInteger(steps) || steps < 0 || !Number.isInteger(bytes) || bytes < 1) {
    throw new Error(`N must be an integer >= 0 and SIZE an integer >= 1 (got ${n}, ${size})`);
  }
  return { n: steps, size: bytes, databaseUrl };
}

/** Lines from the harness on stdin, read one at a time. */
function stdinLines(): () => Promise<void> {
  const input = createInterface({ input: process.stdin });
  const lines: string[] = [];
  const waiting: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  let closed = false;
  input.on('line', (line) => {
    const waiter = waiting.shift();
    if (waiter === undefined) lines.push(line);
    else waiter.resolve();
  });
  input.on('close', () => {
    closed = true;
    for (const waiter of waiting.splice(0)) waiter.reject(new Error('stdin closed before the next line'));
  });
  return () =>
    new Promise((resolve, reject) => {
      if (lines.shift() !== undefined) resolve();
      else if (closed) reject(new Error('stdin closed before the next line'));
      else waiting.push({ resolve, reject });
    });
}

function print(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Runs a contender by the protocol above; `setup` gets the size and the database URL. */
export function runContender(
  name: string,
  setup: (size: number, databaseUrl: string) => Promise<Contender>,
): void {
  const main = async (): Promise<void> => {
    const { n, size, databaseUrl } = argumentsOf(process.argv);
    const nextLine = stdinLines();
    let contender: Contender;
    try {
      contender = await setup(size, databaseUrl);
    } catch (error) {
      if (!(error instanceof ContenderSkipped)) throw error;
      print({ contender: name, n, size, skipped: error.message });
      return;
    }
    try {
      const warmup = await contender.run(warmupSteps);
      const warmed = await contender.journaled(warmup);
      if (warmed !== warmupSteps) throw new Error(`the warm-up journaled ${warmed} of ${warmupSteps} steps`);
      print({ ready: true });
      await nextLine();
      const started = process.hrtime.bigint();
      const id = await contender.run(n);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      print({ contender: name, n, size, ms, ...contender.details });
      await nextLine();
      const journaled = await contender.journaled(id);
      print({ journaled });
      if (journaled !== n) throw new Error(`the workflow journaled ${journaled} of ${n} steps`);
    } finally {
      await contender.close();
    }
  };
  main().then(
    // Some libraries keep timers or pools referenced after close: the result is printed, so leave.
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`${name}: ${error instanceof Error ? error.stack : String(error)}\n`);
      process.exit(1);
    },
  );
}
