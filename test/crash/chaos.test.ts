/**
 * A small run of bench/chaos as a test, on the server: real `aos worker` processes,
 * SIGKILLed and SIGSTOPped at seeded instants while CPU burners load the machine, with
 * parallel branches, sleeps, children and agents sending messages. The run must pass
 * the benchmark's correctness counts: no lost process, no journaled step run again, no
 * deadlock, each message received once, every held process taken over (how fast is a
 * timing, for `npm run bench:chaos`).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/package-root.js';
import { runNode } from '../support/cli.js';
import { hasServer, warnWhenSkipped } from '../support/databases.js';

warnWhenSkipped('the chaos run (test/crash/chaos.test.ts)');

const harness = join(packageRoot(), 'dist', 'bench', 'chaos', 'run.js');

describe.skipIf(!hasServer)('a small chaos run on the server', () => {
  it('loses no process and reruns no journaled step while workers are killed and stopped under load', async () => {
    const run = await runNode(
      packageRoot(),
      [
        harness,
        '--json',
        '--processes',
        '50',
        '--kills',
        '8',
        '--stops',
        '1',
        '--duration',
        '20s',
        '--deadline',
        '90s',
        '--load',
        '2',
        '--seed',
        '5',
      ],
      { AOS_BENCH_DATABASE_URL: process.env.AOS_TEST_DATABASE_URL ?? '' },
      180_000,
    );
    const report = JSON.parse(run.stdout) as {
      lost: { total: number; examples: unknown[] };
      journaledReruns: { total: number; examples: unknown[] };
      deadlocks: number;
      messages: { expected: number; receivedOnce: number };
      modelTurns: { duplicated: number };
      duplicateFinals: unknown[];
      takeover: { leaseMs: number; afterKill: { maxMs?: number; never: number } };
    };
    expect({
      lost: report.lost.examples,
      journaledReruns: report.journaledReruns.examples,
      deadlocks: report.deadlocks,
      messagesMissed: report.messages.expected - report.messages.receivedOnce,
      modelTurnsTwice: report.modelTurns.duplicated,
      finalTwice: report.duplicateFinals,
      neverTakenOver: report.takeover.afterKill.never,
    }).toEqual({
      lost: [],
      journaledReruns: [],
      deadlocks: 0,
      messagesMissed: 0,
      modelTurnsTwice: 0,
      finalTwice: [],
      neverTakenOver: 0,
    });
    // Exit 1 may also mean a takeover past lease + 1 s: a timing, measured by the benchmark, not asserted here.
    expect([0, 1], run.stderr.slice(-2000)).toContain(run.code);
  }, 200_000);
});
