/** `npm run demo` keeps working: it exits 0 and tells what happened (it is the README's first command). */
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { packageRoot } from '../src/package-root.js';
import { runNode } from './support/cli.js';

it('runs the demo: a worker is killed, a researcher resumes, the coordinator collects three results', async () => {
  const script = join(packageRoot(), 'dist', 'examples', 'demo', 'demo.js');
  const demo = await runNode(process.cwd(), [script], {}, 120_000);
  expect(demo.code, demo.stderr).toBe(0);
  expect(demo.stdout).toMatch(/kill -9 \d+: worker [AB] dies at once/);
  expect(demo.stdout).toMatch(/Process \d+ resumed at step \d+ under lease generation \d+/);
  expect(demo.stdout).toMatch(/coordinator exited with status 0/);
  expect(demo.stdout.match(/six steps of reading done, note written/g)?.length).toBeGreaterThanOrEqual(3);
  expect(demo.stdout).toMatch(/each exactly once \(no turn was requested twice\)/);
}, 150_000);
