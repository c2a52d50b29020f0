/**
 * `npm run demo`: aos on the embedded database, offline. A coordinator agent
 * spawns three researchers; two `aos worker` processes run them; the demo kills
 * one worker with SIGKILL in the middle of a researcher's run, and the researcher
 * resumes at its last journaled step on another worker. Then the coordinator
 * collects the three results with `wait`, and the demo prints the process table
 * and the killed researcher's journal.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { formatProcessTable } from '../../src/cli/format.js';
import { createKernel } from '../../src/kernel.js';
import { packageRoot } from '../../src/package-root.js';
import { openDatabase } from '../../src/storage/open-database.js';

const root = packageRoot();
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const home = mkdtempSync(join(tmpdir(), 'aos-demo-'));
const leaseSeconds = 2;

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface DemoWorker {
  name: string;
  child: ChildProcess;
  /** The worker id aos records as lease owner (host:pid:random). */
  id: Promise<string>;
}

/** Starts `aos worker` as its own OS process, printing what it does. */
function startWorker(name: string): DemoWorker {
  const child = spawn(
    process.execPath,
    [
      cli,
      'worker',
      '--json',
      '--home',
      home,
      '--lease',
      `${leaseSeconds}s`,
      '--poll',
      '100ms',
      '--concurrency',
      '4',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const seen = new Set<number>();
  let resolveId: (id: string) => void = () => {};
  const id = new Promise<string>((resolve) => {
    resolveId = resolve;
  });
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const event = JSON.parse(line) as { type: string; pid?: number; outcome?: string; workerId: string };
    resolveId(event.workerId);
    // A process is picked up again after each sleep; say so only the first time a worker takes it.
    if (event.type === 'slice-started' && event.pid !== undefined && !seen.has(event.pid)) {
      seen.add(event.pid);
      say(`   [${name}] runs process ${event.pid}`);
    }
  });
  return { name, child, id };
}

async function main(): Promise<void> {
  say('aos demo: durable agent processes on the embedded PostgreSQL (PGlite), offline.');
  say(`The database lives in ${home}; this demo process serves it to the workers over a local socket.`);
  say();
  const db = await openDatabase({ home });
  const kernel = await createKernel({ db });
  const workers: DemoWorker[] = [];
  try {
    say('1. Spawn the coordinator agent (examples/demo/agents/coordinator.md).');
    say('   It will spawn three researcher processes and wait for each of them.');
    const coordinator = await kernel.call('spawn', {
      agent: join(root, 'examples', 'demo', 'agents', 'coordinator.md'),
      input: 'three strange things in nature',
    });
    say(`   coordinator is process ${coordinator.pid}, state ${coordinator.state}.`);
    say();
    say(
      '2. Start two workers, each its own OS process (`aos worker`), claiming processes from the database.',
    );
    workers.push(startWorker('worker A'), startWorker('worker B'));

    const victim = await waitForResearcherMidRun(kernel);
    const victimWorker = await workerRunning(workers, victim.worker);
    say();
    say(
      `3. Process ${victim.pid} (researcher on "${victim.input}") has journaled ${victim.steps} steps and is running on ${victimWorker.name}.`,
    );
    say(
      `   kill -9 ${victimWorker.child.pid}: ${victimWorker.name} dies at once, in the middle of its work.`,
    );
    victimWorker.child.kill('SIGKILL');
    const killedAt = Date.now();
    say(
      `   Its lease (${leaseSeconds} s) runs out; another worker claims process ${victim.pid} and reads its journal.`,
    );
    workers.push(startWorker('worker C'));
    say('   (worker C starts to keep two workers up.)');

    const resumed = await waitForNewGeneration(kernel, victim.pid, victim.generation);
    say(
      `   Process ${victim.pid} resumed at step ${resumed.seq} under lease generation ${resumed.generation}, ` +
        `${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill.`,
    );
    say();
    say('4. The coordinator collects the three results with wait.');
    const finished = await kernel.call('wait', { pid: coordinator.pid, timeout: '60s' });
    say();
    say(`   coordinator exited with status ${finished.exitStatus}. Its result:`);
    say(indent(String(finished.result)));
    say();
    say('5. The process table (aos ps --all):');
    say(indent(formatProcessTable(await kernel.call('ps', { all: true }))));
    say();
    await printJournal(kernel, victim.pid, victim.generation);
    say();
    say(
      'What you saw: processes are rows in PostgreSQL and every step is journaled before the next one starts.',
    );
    say(
      'A worker can die at any instant; its processes resume at their last journaled step on another worker,',
    );
    say('no model answer is requested twice, and no completed tool call runs again.');
    say(
      'Next: `npx aos run examples/hello/hello.md Ada`, `npx aos ps --all`, `npx aos --help` (see README.md).',
    );
  } finally {
    await Promise.all(workers.map(stopWorker));
    await kernel.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function stopWorker(worker: DemoWorker): Promise<void> {
  if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.child.once('exit', resolve));
  worker.child.kill('SIGTERM');
  await exited;
}

interface Victim {
  pid: number;
  input: string;
  steps: number;
  generation: number;
  worker: string;
}

/** Waits until the second researcher has done a few steps, and returns who runs it. */
async function waitForResearcherMidRun(kernel: Awaited<ReturnType<typeof createKernel>>): Promise<Victim> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const result = await kernel.db.query<Victim>(
      `select pid, input, steps_used as steps, lease_generation as generation, lease_owner as worker
         from aos.processes
        where agent_name = 'researcher' and state = 'running' and steps_used >= 5 and lease_owner is not null
        order by pid desc limit 1`,
    );
    const victim = result.rows[0];
    if (victim !== undefined) return victim;
    await pause(50);
  }
  throw new Error('no researcher reached its fifth step within 30 s');
}

async function workerRunning(workers: DemoWorker[], workerId: string): Promise<DemoWorker> {
  for (const worker of workers) {
    if ((await worker.id) === workerId) return worker;
  }
  throw new Error(`no demo worker has id ${workerId}`);
}

async function waitForNewGeneration(
  kernel: Awaited<ReturnType<typeof createKernel>>,
  pid: number,
  generation: number,
): Promise<{ seq: number; generation: number }> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const result = await kernel.db.query<{ seq: number; generation: number }>(
      'select seq, generation from aos.steps where pid = $1 and generation > $2 order by seq limit 1',
      [pid, generation],
    );
    const row = result.rows[0];
    if (row !== undefined) return row;
    await pause(50);
  }
  throw new Error(`process ${pid} was not resumed within 30 s`);
}

async function printJournal(
  kernel: Awaited<ReturnType<typeof createKernel>>,
  pid: number,
  killedGeneration: number,
) {
  const steps = await kernel.db.query<{
    seq: number;
    kind: string;
    name: string | null;
    status: string;
    generation: number;
    messages: { role: string; content: string; meta?: { turn?: number } }[];
  }>('select seq, kind, name, status, generation, messages from aos.steps where pid = $1 order by seq', [
    pid,
  ]);
  say(`6. The journal of process ${pid} (aos.steps), the researcher whose worker was killed:`);
  const turns: number[] = [];
  for (const step of steps.rows) {
    const message = step.messages[0];
    if (step.kind === 'model' && typeof message?.meta?.turn === 'number') turns.push(message.meta.turn);
    const mark = step.generation > killedGeneration ? '  <- after the kill' : '';
    const text = message?.content ? `  ${JSON.stringify(message.content.slice(0, 60))}` : '';
    say(
      `   ${String(step.seq).padStart(2)}  gen ${step.generation}  ${step.kind.padEnd(6)} ${(step.name ?? '').padEnd(22)} ${step.status.padEnd(15)}${text}${mark}`,
    );
  }
  const unique = new Set(turns).size === turns.length;
  say(
    `   Model turns answered: ${turns.length}, each exactly once (${unique ? 'no turn was requested twice' : 'A TURN REPEATED'}).`,
  );
  if (!unique) throw new Error('a model turn was journaled twice');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `   ${line}`)
    .join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
