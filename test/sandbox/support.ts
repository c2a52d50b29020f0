/** Shared by the sandbox tests: the drivers to check, and a shell command runner on a fresh workspace. */
import { execFileSync } from 'node:child_process';
import { bubblewrapDriver, createSandboxWorkspace } from '../../src/sandbox/bubblewrap.js';
import type { SandboxDriver, SandboxRequest, SandboxResult } from '../../src/sandbox/sandbox.js';

/** Every driver, with whether it runs on this machine (CI installs bubblewrap). */
export const sandboxDrivers: { driver: SandboxDriver; available: boolean }[] = [
  { driver: bubblewrapDriver, available: (await bubblewrapDriver.availability()).available },
];

/** Says loudly that `what` is skipped where no sandbox runs. */
export function warnWhenNoSandbox(what: string): void {
  for (const { driver, available } of sandboxDrivers)
    if (!available)
      console.warn(`SKIPPED: ${what} on ${driver.name}: it cannot run here (aos doctor says why)`);
}

export function newWorkspace(): string {
  return createSandboxWorkspace('aos-sandbox-');
}

/** Runs `script` with /bin/sh in `driver` on a new workspace (or `workspace`). */
export function shell(
  driver: SandboxDriver,
  script: string,
  options: Partial<SandboxRequest> = {},
): Promise<SandboxResult> {
  return driver.run({
    command: ['/bin/sh', '-c', script],
    workspace: options.workspace ?? newWorkspace(),
    deadlineMs: 20_000,
    ...options,
  });
}

/** The host processes whose command line contains `marker` (none once a sandbox is gone). */
export function hostProcesses(marker: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', marker], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.includes('pgrep'));
  } catch {
    return [];
  }
}
