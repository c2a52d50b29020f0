/**
 * One run of a contender in a fresh child process, by the protocol of
 * bench/step-overhead/peers/contenders/protocol.ts: start it, let the caller read its
 * counters when it is ready and when its measured workflow is done, and collect its lines.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** The result line of a contender, or why it skipped itself. */
export type ContenderOutcome =
  | { kind: 'result'; ms: number; line: Record<string, unknown> }
  | { kind: 'skipped'; reason: string };

/** Hooks called while the child waits: before its measured workflow starts, after it ends. */
export interface RunHooks {
  beforeWorkflow?: () => Promise<void>;
  afterWorkflow?: () => Promise<void>;
}

const runLimitMs = 10 * 60_000;

/** Runs `script` with N, SIZE and the database URL in a fresh Node process. */
export function runContenderProcess(
  script: string,
  n: number,
  size: number,
  databaseUrl: string,
  hooks: RunHooks = {},
): Promise<ContenderOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, String(n), String(size), databaseUrl], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // LangSmith tracing stays off whatever the caller's environment says.
      env: { ...process.env, LANGSMITH_TRACING: 'false', LANGCHAIN_TRACING_V2: 'false' },
    });
    let stderr = '';
    let outcome: ContenderOutcome | undefined;
    let journaled: number | undefined;
    let failure: Error | undefined;
    const fail = (error: unknown): void => {
      failure ??= error instanceof Error ? error : new Error(String(error));
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => fail(new Error(`no end after ${runLimitMs / 1000} s`)), runLimitMs);
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-4000);
    });
    // Lines are handled one after another: a hook finishes before the child is told to go on.
    let queue = Promise.resolve();
    createInterface({ input: child.stdout }).on('line', (text) => {
      queue = queue
        .then(async () => {
          const line = JSON.parse(text) as Record<string, unknown>;
          if (line.ready === true) {
            await hooks.beforeWorkflow?.();
            child.stdin.write('go\n');
          } else if (typeof line.skipped === 'string') {
            outcome = { kind: 'skipped', reason: line.skipped };
          } else if (typeof line.ms === 'number') {
            outcome = { kind: 'result', ms: line.ms, line };
            await hooks.afterWorkflow?.();
            child.stdin.write('check\n');
          } else if (typeof line.journaled === 'number') {
            journaled = line.journaled;
          } else {
            throw new Error(`unexpected line from the contender: ${text}`);
          }
        })
        .catch(fail);
    });
    child.once('error', fail);
    child.stdin.on('error', () => {}); // a child that died early: its exit code tells why
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      void queue.then(() => {
        const where = `${script} ${n} ${size}`;
        if (failure !== undefined) reject(new Error(`${where}: ${failure.message}\n${stderr}`));
        else if (code !== 0) reject(new Error(`${where}: ${signal ?? `exit code ${code}`}\n${stderr}`));
        else if (outcome === undefined) reject(new Error(`${where}: no result line\n${stderr}`));
        else if (outcome.kind === 'result' && journaled !== n) {
          reject(new Error(`${where}: journaled ${journaled} steps, not ${n}\n${stderr}`));
        } else resolve(outcome);
      });
    });
  });
}
