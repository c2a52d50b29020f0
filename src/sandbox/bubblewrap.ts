/**
 * The bubblewrap sandbox driver. Each command runs in new user, mount, pid, network, IPC,
 * UTS and cgroup namespaces, with every capability dropped and no new privileges (setuid
 * binaries do not elevate); it sees the system's programs and libraries read-only, a
 * handful of harmless /etc files, its own /proc, a minimal /dev, a private /tmp of bounded
 * size, and the workspace at /workspace as the only writable path. The network namespace
 * has only a loopback device: no host, address or DNS server is reachable. Limits are set
 * with prlimit inside the sandbox; the deadline and an abort kill the sandbox's pid
 * namespace, and with it every process the command started.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdtempSync, readlinkSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { AosError } from '../errors.js';
import {
  type SandboxAvailability,
  type SandboxDriver,
  type SandboxLimits,
  type SandboxRequest,
  type SandboxResult,
  sandboxDefaults,
} from './sandbox.js';

const prlimit = '/usr/bin/prlimit';
const path = '/usr/local/bin:/usr/bin:/bin';
/** The user and group the command runs as inside (mapped to the caller's own outside). */
const insideId = '1000';
/**
 * Run as root, the sandbox drops to this host user first (default nobody): the kernel does
 * not apply RLIMIT_NPROC to host root, even inside a user namespace, so a fork bomb would
 * only meet the deadline; and as nobody, even the system's files are readable only where
 * the world may read them. The workspace must be that user's (createSandboxWorkspace).
 */
function hostUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const setting = process.env.AOS_SANDBOX_UID;
  const id = setting === undefined || setting === '' ? 65534 : Number(setting);
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new AosError(
      'invalid_input',
      `AOS_SANDBOX_UID must be the id of an unprivileged user, not "${setting}"`,
      {
        hint: 'unset it (the sandbox then runs as nobody, 65534) or give a positive user id',
      },
    );
  }
  return { uid: id, gid: id };
}

/** The top-level system folders: bound read-only, or re-created as the links they are on this host. */
const systemFolders = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/opt'];
/** The /etc files programs need to start and that hold no secret. */
const etcFiles = [
  '/etc/alternatives',
  '/etc/ld.so.cache',
  '/etc/ld.so.conf',
  '/etc/ld.so.conf.d',
  '/etc/localtime',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/ssl/certs',
  '/etc/ca-certificates',
  '/etc/mime.types',
];

/** bwrap's arguments for `request`, up to and including the command. */
export function bubblewrapArguments(request: SandboxRequest, limits: SandboxLimits): string[] {
  const args = [
    '--unshare-all',
    '--unshare-user',
    '--uid',
    insideId,
    '--gid',
    insideId,
    '--hostname',
    'sandbox',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
  ];
  const env = { ...request.env, PATH: path, HOME: '/workspace', LANG: 'C.UTF-8', TMPDIR: '/tmp' };
  for (const [name, value] of Object.entries(env)) args.push('--setenv', name, value);
  for (const folder of systemFolders) {
    const found = lstatOrUndefined(folder);
    if (found === undefined) continue;
    if (found.isSymbolicLink()) args.push('--symlink', readlinkSync(folder), folder);
    else args.push('--ro-bind', folder, folder);
  }
  for (const file of etcFiles) args.push('--ro-bind-try', file, file);
  args.push('--proc', '/proc', '--dev', '/dev');
  // bwrap's /dev is a tmpfs, with /dev/shm in it: read-only, and a bounded /dev/shm of its own.
  args.push('--size', String(limits.tmpBytes), '--tmpfs', '/dev/shm', '--remount-ro', '/dev');
  args.push('--size', String(limits.tmpBytes), '--tmpfs', '/tmp');
  args.push('--bind', request.workspace, '/workspace');
  for (const readable of request.readPaths ?? []) args.push('--ro-bind', readable, readable);
  // The root bwrap builds is a tmpfs: read-only, so nothing but /workspace and /tmp takes a write.
  args.push('--remount-ro', '/');
  args.push('--chdir', request.cwd ?? '/workspace');
  args.push(
    '--',
    prlimit,
    `--cpu=${limits.cpuSeconds}`,
    `--as=${limits.memoryBytes}`,
    `--nproc=${limits.processes}`,
    `--fsize=${limits.fileBytes}`,
    `--nofile=${limits.openFiles}`,
    '--core=0',
    '--',
    ...request.command,
  );
  return args;
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}

/** Whether bubblewrap runs here: installed, and allowed to make user namespaces. */
async function checkAvailability(bwrap: string): Promise<SandboxAvailability> {
  if (!existsSync(prlimit)) {
    return {
      available: false,
      reason: `${prlimit} is missing (util-linux)`,
      hint: 'install util-linux, which sets the sandbox resource limits',
    };
  }
  const workspace = tmpdir();
  const probe = await runBubblewrap(
    bwrap,
    bubblewrapArguments({ command: ['/usr/bin/true'], workspace, deadlineMs: 10_000 }, sandboxDefaults),
    { deadlineMs: 10_000, outputBytes: 4096 },
  ).catch((error: unknown) => error as Error);
  if (probe instanceof Error) {
    const missing = (probe as NodeJS.ErrnoException).code === 'ENOENT';
    return missing
      ? {
          available: false,
          reason: 'bubblewrap (bwrap) is not installed',
          hint: 'install it (Debian and Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or set AOS_BWRAP to its path',
        }
      : {
          available: false,
          reason: probe.message,
          hint: 'check that bwrap runs: bwrap --ro-bind / / true',
        };
  }
  if (probe.exitCode !== 0) {
    return {
      available: false,
      reason: `bwrap cannot make its namespaces here: ${probe.stderr.trim() || `exit ${probe.exitCode}`}`,
      hint: 'allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0), or run in a container that permits them',
    };
  }
  return { available: true, detail: `bubblewrap (${bwrap}) with user, pid, network and mount namespaces` };
}

interface RunOptions {
  deadlineMs: number;
  outputBytes: number;
  stdin?: string;
  signal?: AbortSignal;
}

/** Runs bwrap with `args`; kills it (and so its pid namespace) at the deadline or on abort. */
function runBubblewrap(bwrap: string, args: string[], options: RunOptions): Promise<SandboxResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      const user = hostUser();
      // bwrap's own process is pid 1 inside, and its /proc/1/environ is readable there: it
      // gets no environment but PATH (the command's is set by --setenv after --clearenv).
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      child = spawn(bwrap, args, { stdio: ['pipe', 'pipe', 'pipe'], env, ...(user ?? {}) });
    } catch (error) {
      reject(error);
      return;
    }
    let killedBy: SandboxResult['killedBy'] = null;
    const kill = (reason: 'deadline' | 'abort') => {
      killedBy ??= reason;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('deadline'), options.deadlineMs);
    const onAbort = () => kill('abort');
    if (options.signal?.aborted) onAbort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const stdout = cappedCollector(options.outputBytes);
    const stderr = cappedCollector(options.outputBytes);
    child.stdout!.on('data', stdout.add);
    child.stderr!.on('data', stderr.add);
    // A command that does not read its input closes the pipe: that is not an error.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.stdin ?? '');
    child.once('error', (error) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      reject(error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      const ended = endedBy(code, signal);
      resolve({
        ...ended,
        stdout: stdout.text(),
        stderr: stderr.text(),
        stdoutBytes: stdout.total(),
        stderrBytes: stderr.total(),
        killedBy,
        durationMs: performance.now() - started,
      });
    });
  });
}

/**
 * bwrap exits with its command's code, or 128 + N when a signal N ended the command (as a
 * shell reports it); a signal to bwrap itself is the deadline or an abort.
 */
function endedBy(
  code: number | null,
  signal: NodeJS.Signals | null,
): { exitCode: number | null; signal: string | null } {
  if (signal !== null) return { exitCode: null, signal };
  if (code !== null && code > 128 && code < 128 + 65) {
    const name = signalName(code - 128);
    if (name !== undefined) return { exitCode: null, signal: name };
  }
  return { exitCode: code, signal: null };
}

const signalNames: Record<number, string> = {
  1: 'SIGHUP',
  2: 'SIGINT',
  3: 'SIGQUIT',
  4: 'SIGILL',
  6: 'SIGABRT',
  7: 'SIGBUS',
  8: 'SIGFPE',
  9: 'SIGKILL',
  11: 'SIGSEGV',
  13: 'SIGPIPE',
  14: 'SIGALRM',
  15: 'SIGTERM',
  24: 'SIGXCPU',
  25: 'SIGXFSZ',
  31: 'SIGSYS',
};

function signalName(number: number): string | undefined {
  return signalNames[number];
}

/** Keeps the first `limit` bytes of a stream and counts the rest. */
function cappedCollector(limit: number) {
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  return {
    add: (chunk: Buffer) => {
      total += chunk.length;
      if (kept >= limit) return;
      const part = chunk.subarray(0, limit - kept);
      chunks.push(part);
      kept += part.length;
    },
    text: () => Buffer.concat(chunks).toString('utf8'),
    total: () => total,
  };
}

function checkRequest(request: SandboxRequest): void {
  if (request.command.length === 0) {
    throw new AosError('invalid_input', 'the sandbox needs a command to run', {
      hint: 'give the program and its arguments',
    });
  }
  for (const folder of [request.workspace, ...(request.readPaths ?? [])]) {
    if (!isAbsolute(folder) || !existsSync(folder)) {
      throw new AosError('invalid_input', `sandbox path ${folder} is not an absolute path that exists`, {
        hint: 'give the workspace and readable paths as absolute host paths',
      });
    }
  }
  if (!statSync(request.workspace).isDirectory()) {
    throw new AosError('invalid_input', `the sandbox workspace ${request.workspace} is not a folder`, {
      hint: 'give a folder as the workspace',
    });
  }
  if (!Number.isFinite(request.deadlineMs) || request.deadlineMs <= 0) {
    throw new AosError('invalid_input', 'the sandbox deadline must be a positive number of milliseconds', {
      hint: 'give deadlineMs, e.g. 30000',
    });
  }
}

/**
 * A new empty workspace in the temporary folder, private to the sandbox's user (when aos
 * runs as root, the unprivileged user the sandbox drops to).
 */
export function createSandboxWorkspace(prefix = 'aos-workspace-'): string {
  const folder = mkdtempSync(join(tmpdir(), prefix));
  const user = hostUser();
  if (user !== undefined) chownSync(folder, user.uid, user.gid);
  return folder;
}

/** Run as root, the sandbox's user must own the workspace: aos never hands over a folder it did not make. */
function checkWorkspaceOwner(workspace: string, user: { uid: number; gid: number }): void {
  if (statSync(workspace).uid === user.uid) return;
  throw new AosError(
    'forbidden',
    `the sandbox runs as user ${user.uid} when aos runs as root, and the workspace ${workspace} is not theirs`,
    {
      hint: `use a workspace aos made (aos sandbox run without --workspace), give this one to that user (chown ${user.uid} ${workspace}), or run aos as an ordinary user`,
    },
  );
}

/** A bubblewrap driver; `binary` defaults to AOS_BWRAP, else bwrap on the PATH. */
export function createBubblewrapDriver(options: { binary?: string } = {}): SandboxDriver {
  const binary = options.binary ?? process.env.AOS_BWRAP ?? 'bwrap';
  let availability: Promise<SandboxAvailability> | undefined;
  const available = () => {
    availability ??= checkAvailability(binary);
    return availability;
  };
  return {
    name: 'bubblewrap',
    availability: available,
    async run(request) {
      checkRequest(request);
      const found = await available();
      if (!found.available) {
        throw new AosError('unavailable', `the sandbox cannot run here: ${found.reason}`, {
          hint: found.hint,
        });
      }
      const limits = { ...sandboxDefaults, ...request.limits };
      const user = hostUser();
      if (user !== undefined) checkWorkspaceOwner(request.workspace, user);
      return runBubblewrap(binary, bubblewrapArguments(request, limits), {
        deadlineMs: request.deadlineMs,
        outputBytes: limits.outputBytes,
        ...(request.stdin === undefined ? {} : { stdin: request.stdin }),
        ...(request.signal === undefined ? {} : { signal: request.signal }),
      });
    },
  };
}

/** The driver aos uses. */
export const bubblewrapDriver = createBubblewrapDriver();
