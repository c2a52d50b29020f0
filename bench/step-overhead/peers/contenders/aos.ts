/**
 * aos: a durable program of N `ctx.step` calls, each returning the payload, run by one worker
 * of a kernel on the run's database, from spawn to exit. Written to the program API of
 * issue 3 (`defineProgram`, `createKernel({ programs })`); until aos exports it, the
 * contender reports itself skipped.
 */
import { ContenderSkipped, payloadOf, runContender } from './protocol.js';
import { connectStepCounter } from './step-counter.js';

/** The part of aos's program API this contender uses, as issue 3 specifies it. */
interface ProgramContext {
  step<Result>(name: string, run: () => Promise<Result>): Promise<Result>;
}
interface Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
}
interface Kernel {
  call(name: 'spawn', input: { agent: string; input: string }): Promise<{ pid: number }>;
  call(name: 'wait', input: { pid: number }): Promise<{ exitStatus?: number | null }>;
  createWorker(options: Record<string, unknown>): Worker;
  close(): Promise<void>;
}
interface ProgramApi {
  createPostgresDb(options: { connection: string; maxConnections?: number }): unknown;
  createKernel(options: { db: unknown; programs: unknown[] }): Promise<Kernel>;
  defineProgram(name: string, run: (ctx: ProgramContext, input: string) => Promise<unknown>): unknown;
}

// From peers/dist/contenders/ to the repository root, where `npm run build` put aos.
const aosModule = new URL('../../../../../dist/src/index.js', import.meta.url).href;

runContender('aos', async (size, databaseUrl) => {
  const aos = (await import(aosModule)) as Partial<ProgramApi>;
  if (
    typeof aos.defineProgram !== 'function' ||
    typeof aos.createKernel !== 'function' ||
    typeof aos.createPostgresDb !== 'function'
  ) {
    throw new ContenderSkipped(
      'aos does not export defineProgram yet (durable programs, issue 3): run this when the program API has landed',
    );
  }
  const program = aos.defineProgram('bench-steps', async (ctx, input) => {
    const { n, size } = JSON.parse(input) as { n: number; size: number };
    const payload = payloadOf(size);
    for (let i = 0; i < n; i++) await ctx.step(`s${i}`, async () => payload);
    return n;
  });
  const db = aos.createPostgresDb({ connection: databaseUrl, maxConnections: 4 });
  const kernel = await aos.createKernel({ db, programs: [program] });
  const worker = kernel.createWorker({ concurrency: 1, pollMs: 1, leaseMs: 30_000, quantumMs: 3_600_000 });
  await worker.start();
  const steps = await connectStepCounter(databaseUrl);
  return {
    details: { worker: 'concurrency 1, pollMs 1' },
    async run(n) {
      const { pid } = await kernel.call('spawn', {
        agent: 'bench-steps',
        input: JSON.stringify({ n, size }),
      });
      const exited = await kernel.call('wait', { pid });
      if (exited.exitStatus !== 0) throw new Error(`the program exited with status ${exited.exitStatus}`);
      return String(pid);
    },
    // A program step is a journal row of its process, named as the program named it (s0, s1, ...).
    journaled: (pid) =>
      steps.count(
        "select count(distinct name)::int as steps from aos.steps where pid = $1 and name ~ '^s[0-9]+$'",
        Number(pid),
      ),
    async close() {
      await steps.end();
      await worker.stop();
      await kernel.close();
    },
  };
});
