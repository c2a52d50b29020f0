/**
 * The sandbox driver interface (design.md, Trust): where shell and code tools run. A
 * driver runs one command with a workspace as its only writable path, no network, a
 * scrubbed environment, resource limits and a deadline, and kills everything it started
 * when the deadline passes or the call is aborted. The contract every driver keeps is
 * test/sandbox/contract.test.ts; the escapes it must contain are test/sandbox/escapes.test.ts.
 */

/** Limits on what the command may use; each has a default (sandboxDefaults). */
export interface SandboxLimits {
  /** CPU time, seconds (RLIMIT_CPU). */
  cpuSeconds: number;
  /** Address space, bytes (RLIMIT_AS). */
  memoryBytes: number;
  /** Processes and threads the sandbox's user may have (RLIMIT_NPROC). */
  processes: number;
  /** The largest file it may write, bytes (RLIMIT_FSIZE). */
  fileBytes: number;
  /** Open file descriptors (RLIMIT_NOFILE). */
  openFiles: number;
  /** Bytes kept of stdout and of stderr each; the rest is counted, not kept. */
  outputBytes: number;
  /** The size of the sandbox's private /tmp, bytes. */
  tmpBytes: number;
}

export const sandboxDefaults: SandboxLimits = {
  cpuSeconds: 60,
  memoryBytes: 1024 * 1024 * 1024,
  processes: 256,
  fileBytes: 64 * 1024 * 1024,
  openFiles: 256,
  outputBytes: 256 * 1024,
  tmpBytes: 64 * 1024 * 1024,
};

/** One command to run. */
export interface SandboxRequest {
  /** The program and its arguments, run as is (no shell unless the first word is one). */
  command: string[];
  /** The host folder mounted read-write at /workspace: the only writable path that outlives the call. */
  workspace: string;
  /** The working directory inside the sandbox; default /workspace. */
  cwd?: string;
  /** The whole environment of the command besides PATH, HOME, LANG and TMPDIR: nothing is inherited. */
  env?: Record<string, string>;
  /** Written to the command's stdin, which is then closed; default empty. */
  stdin?: string;
  /** Host paths the command may read (mounted read-only at the same place), beyond the system's. */
  readPaths?: string[];
  /** Milliseconds of wall time before everything is killed. */
  deadlineMs: number;
  /** Aborting kills everything the command started. */
  signal?: AbortSignal;
  limits?: Partial<SandboxLimits>;
}

/** How a command ended. */
export interface SandboxResult {
  /** The exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it (e.g. SIGKILL at the deadline, SIGXCPU over its CPU time). */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** Bytes written to stdout and stderr in all, kept or not. */
  stdoutBytes: number;
  stderrBytes: number;
  /** Why the sandbox ended it, when it did: its deadline, or the caller's abort. */
  killedBy: 'deadline' | 'abort' | null;
  durationMs: number;
}

/** Whether a driver can run here, and if not, what to do. */
export type SandboxAvailability =
  | { available: true; detail: string }
  | { available: false; reason: string; hint: string };

export interface SandboxDriver {
  readonly name: string;
  availability(): Promise<SandboxAvailability>;
  /** Runs the command; rejects with `unavailable` when the driver cannot run here. */
  run(request: SandboxRequest): Promise<SandboxResult>;
}
