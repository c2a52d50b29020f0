/** sandbox check, sandbox run: whether the sandbox works here, and a command run inside it. */
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../../duration.js';
import { bubblewrapDriver, createSandboxWorkspace } from '../../sandbox/bubblewrap.js';
import { defineCommand } from '../command.js';

export const sandboxCheckCommand = defineCommand({
  name: 'sandbox check',
  summary:
    'Say whether the sandbox (bubblewrap) can run shell and code tools here, and if not, what to do; exits 6 when not',
  input: z.object({}).strict(),
  positional: [],
  output: z.object({
    driver: z.string(),
    available: z.boolean(),
    detail: z.string(),
    hint: z.string().optional(),
  }),
  errors: [],
  examples: ['aos sandbox check', 'aos sandbox check --json'],
  async run() {
    const found = await bubblewrapDriver.availability();
    return found.available
      ? { driver: bubblewrapDriver.name, available: true, detail: found.detail }
      : { driver: bubblewrapDriver.name, available: false, detail: found.reason, hint: found.hint };
  },
  format: (output) =>
    `${output.driver}: ${output.available ? 'available' : 'unavailable'}: ${output.detail}` +
    (output.hint === undefined ? '' : `\n  hint: ${output.hint}`),
  exitCode: (output) => (output.available ? 0 : 6),
});

export const sandboxRunCommand = defineCommand({
  name: 'sandbox run',
  summary:
    'Run a shell command in the sandbox for shell and code tools: the workspace as the only writable path, no network, limits, a deadline',
  input: z
    .object({
      script: z.string().min(1).describe('the command, run by /bin/sh -c inside the sandbox'),
      workspace: z
        .string()
        .optional()
        .describe(
          'the host folder mounted read-write at /workspace; default a new empty one in the temporary folder',
        ),
      deadline: z.string().default('30s').describe('wall time before everything is killed, e.g. 30s'),
    })
    .strict(),
  positional: ['script'],
  output: z.object({
    workspace: z.string().describe('the host folder that was /workspace'),
    exitCode: z.number().int().nullable(),
    signal: z.string().nullable(),
    stdout: z.string(),
    stderr: z.string(),
    killedBy: z.enum(['deadline', 'abort']).nullable(),
    durationMs: z.number(),
  }),
  errors: ['invalid_input', 'forbidden', 'unavailable'],
  examples: [
    "aos sandbox run 'ls -la / && id'",
    "aos sandbox run --workspace ./scratch --deadline 5s 'python3 job.py' --json",
  ],
  handlesInterruption: true,
  async run(context, input) {
    const workspace = input.workspace === undefined ? createSandboxWorkspace() : resolve(input.workspace);
    const result = await bubblewrapDriver.run({
      command: ['/bin/sh', '-c', input.script],
      workspace,
      deadlineMs: parseDuration(input.deadline, 'deadline'),
      signal: context.interrupted,
    });
    return {
      workspace,
      exitCode: result.exitCode,
      signal: result.signal,
      stdout: result.stdout,
      stderr: result.stderr,
      killedBy: result.killedBy,
      durationMs: Math.round(result.durationMs),
    };
  },
  format: (output) =>
    [
      output.stdout.trimEnd(),
      output.stderr === '' ? '' : output.stderr.trimEnd(),
      output.killedBy === null
        ? output.signal === null
          ? ''
          : `(ended by ${output.signal})`
        : `(killed: ${output.killedBy === 'deadline' ? 'its deadline passed' : 'interrupted'})`,
    ]
      .filter((part) => part !== '')
      .join('\n'),
  exitCode: (output) => output.exitCode ?? (output.killedBy === null ? 1 : 7),
});
