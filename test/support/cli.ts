/**
 * Runs the compiled `aos` binary in a subprocess, asynchronously: a synchronous spawn
 * would block the test worker's event loop (vitest's own heartbeats, and mock servers
 * living in the test process, must keep running while a command runs).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/package-root.js';

/** The compiled CLI entry point. */
export const cliPath = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `aos ARGS` in `cwd` on the embedded database there (AOS_DATABASE_URL and
 * AOS_HOME cleared), with `env` added; resolves when it exits (killed after `timeoutMs`).
 */
export function runAos(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliRun> {
  return runNode(cwd, [cliPath, ...args], env, timeoutMs);
}

/** Runs a Node script with the same environment rules as `runAos`. */
export function runNode(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd,
      env: { ...process.env, AOS_DATABASE_URL: '', AOS_HOME: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal === null ? -1 : 128 + (signal === 'SIGKILL' ? 9 : 15)),
        stdout,
        stderr,
      });
    });
  });
}
