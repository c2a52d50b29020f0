/**
 * bench:sandbox: the cost of the sandbox on a trivial command. Runs `/bin/true` (and a
 * small shell pipeline) N times bare, as a child process, and N times in the bubblewrap
 * sandbox, one after the other on the same machine; prints p50 and p95 of each and the
 * ratio. Usage: npm run bench:sandbox [-- RUNS]
 */
import { spawn } from 'node:child_process';
import { bubblewrapDriver, createSandboxWorkspace } from '../../src/sandbox/bubblewrap.js';

const runs = Number(process.argv[2] ?? 100);

function bare(command: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio: 'ignore' });
    child.once('error', reject);
    child.once('close', () => resolve());
  });
}

function percentile(sorted: number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))]!;
}

async function measure(label: string, once: () => Promise<unknown>): Promise<number> {
  await once();
  const times: number[] = [];
  for (let index = 0; index < runs; index++) {
    const started = performance.now();
    await once();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const p50 = percentile(times, 0.5);
  console.log(
    `${label.padEnd(34)} p50 ${p50.toFixed(1).padStart(6)} ms   p95 ${percentile(times, 0.95).toFixed(1).padStart(6)} ms`,
  );
  return p50;
}

const found = await bubblewrapDriver.availability();
if (!found.available) {
  console.error(`the sandbox cannot run here: ${found.reason}\nhint: ${found.hint}`);
  process.exit(6);
}
const workspace = createSandboxWorkspace('aos-bench-sandbox-');
for (const command of [['/bin/true'], ['/bin/sh', '-c', 'ls /usr/bin | wc -l']]) {
  const name = command.join(' ');
  const plain = await measure(`bare: ${name}`, () => bare(command));
  const boxed = await measure(`sandbox: ${name}`, () =>
    bubblewrapDriver.run({ command, workspace, deadlineMs: 30_000 }),
  );
  console.log(`${'ratio'.padEnd(34)} ${(boxed / plain).toFixed(1)}x   (+${(boxed - plain).toFixed(1)} ms)\n`);
}
