/**
 * createKernel wires the subsystems around one database: the syscall table and its
 * single dispatch path, the tool registry, the model resolver, workers, and
 * in-process wake-ups. Instances only, no globals: two kernels never share state.
 */
import { EventEmitter } from 'node:events';
import { createModelResolver, type ModelResolver } from './cpu/resolve-model.js';
import { maxFileBytesOf } from './fs/content.js';
import { processTools } from './io/builtin/process-tools.js';
import { todoTool } from './io/builtin/todo-tool.js';
import type { Tool } from './io/tool.js';
import { ToolRegistry } from './io/tool-registry.js';
import type { Embedder } from './memory/embedder.js';
import { embedderFromEnvironment } from './memory/embedder-from-environment.js';
import type { AgentDefinition } from './process/agent-definition.js';
import type { Program } from './process/program.js';
import { ProgramCatalog } from './process/programs.js';
import { registerFile, registerProgram } from './process/registration.js';
import { Worker, type WorkerOptions } from './process/worker.js';
import type { Db } from './storage/db.js';
import { migrate } from './storage/migrate.js';
import { embeddedHome } from './storage/open-database.js';
import { dispatch, type SyscallInput, type SyscallOutput } from './syscalls/dispatch.js';
import { type Caller, localUser } from './syscalls/syscall.js';
import type { SyscallContext } from './syscalls/syscall-context.js';
import type { SyscallName } from './syscalls/table.js';
import { syscallTools } from './syscalls/tool-face.js';
import { drainAudit } from './trust/audit.js';
import { checkpointConfigOf, userAosHome, writeCheckpoint } from './trust/audit-checkpoints.js';
import {
  createOtlpExporter,
  type OtlpExporter,
  type OtlpOptions,
  otlpOptionsFromEnv,
} from './trust/otlp-export.js';

export interface KernelOptions {
  db: Db;
  /** Tools besides the built-in ones (process and file-system tools). */
  tools?: Tool[];
  /** How model strings become drivers; the built-in resolver by default. */
  models?: ModelResolver;
  /** Apply pending migrations on start; default true. */
  migrate?: boolean;
  /**
   * The folder for local files (audit key and checkpoints); default AOS_HOME, else
   * ./.aos with the embedded database, ~/.aos with a server (never the working directory).
   */
  home?: string;
  /**
   * Sign a checkpoint of the audit chain's head on close when the chain grew while this
   * kernel was open (so that what a command appended is covered); default false (the CLI sets it).
   */
  checkpointOnClose?: boolean;
  /**
   * Programs to register at start: Program objects (only this kernel's workers can run
   * them) or module paths (any worker imports them).
   */
  programs?: (Program | string)[];
  /** Where to export processes' traces over OTLP; default from the OTEL_* variables (none when unset); false: nowhere. */
  otlp?: OtlpOptions | false;
  /** The agent file system's settings. */
  fileSystem?: FileSystemOptions;
  /** Embeds memories; default chosen by the environment (embedderFromEnvironment: hashing, offline). */
  embedder?: Embedder;
}

/** Settings of the agent file system. */
export interface FileSystemOptions {
  /** The size limit of one file in bytes; default AOS_FS_MAX_FILE_BYTES, else 10 MiB. */
  maxFileBytes?: number;
}

export type { SyscallInput, SyscallOutput };

/** A kernel: the ports its syscalls work through, the dispatch path, workers and wake-ups. */
export interface Kernel extends SyscallContext {
  readonly db: Db;
  /** The folder for local files (audit key and checkpoints). */
  readonly home: string;
  /** The agent file system's settings in force. */
  readonly fileSystem: Required<FileSystemOptions>;
  readonly tools: ToolRegistry;
  readonly models: ModelResolver;
  /** The programs this kernel knows, and the loader of program modules. */
  readonly programs: ProgramCatalog;
  /** Registers an agent file (with the agents it lists) or a program module; returns its definition. */
  register(path: string): Promise<AgentDefinition>;
  /** The OTLP trace exporter, when an endpoint is configured; workers export each process that exits. */
  readonly otlp: OtlpExporter | undefined;
  /** What memories are embedded with (the same for adding and searching). */
  readonly embedder: Embedder;
  /** Calls a syscall through the one dispatch path (syscalls/dispatch.ts); the local user by default. */
  call<Name extends SyscallName>(
    name: Name,
    input: SyscallInput<Name>,
    caller?: Caller,
  ): Promise<SyscallOutput<Name>>;
  /** A worker that runs processes in this Node process; call `start()` on it. */
  createWorker(options?: WorkerOptions): Worker;
  /**
   * Wakes this process's workers and waiters (something became runnable or exited);
   * `pid` names the process concerned, when there is one.
   */
  poke(pid?: number): void;
  onPoke(listener: (pid?: number) => void): () => void;
  /**
   * Resolves after the next poke or notification (about process `pid`, or about none in
   * particular, when `pid` is given), or after `ms`.
   */
  waitForChange(ms: number, pid?: number): Promise<void>;
  /** Finishes trace exports under way, then closes the database. Stop workers first. */
  close(): Promise<void>;
}

/** The id of the audit chain's head (0 when empty). */
async function auditHead(db: Db): Promise<number> {
  const result = await db.query<{ id: number | null }>('select max(id) as id from aos.audit');
  return Number(result.rows[0]?.id ?? 0);
}

/** Creates a kernel on `db`, migrating it first unless told not to. */
export async function createKernel(options: KernelOptions): Promise<Kernel> {
  const { db } = options;
  if (options.migrate ?? true) await migrate(db);
  // Chain audit entries left pending (appended since the last chainer ran).
  await drainAudit(db);
  const headAtStart = await auditHead(db);
  const fileSystem = { maxFileBytes: maxFileBytesOf(options.fileSystem?.maxFileBytes) };
  const embedder = options.embedder ?? embedderFromEnvironment();
  const tools = new ToolRegistry([
    ...processTools,
    todoTool,
    // Agent tools made from the syscall table; they dispatch through this kernel.
    ...syscallTools(() => kernel),
    ...(options.tools ?? []),
  ]);
  const models = options.models ?? createModelResolver();
  const programs = new ProgramCatalog(
    (options.programs ?? []).filter((program): program is Program => typeof program !== 'string'),
  );
  const registrar = { db, programs, tools };
  for (const program of programs.localPrograms) await registerProgram(registrar, program, null);
  for (const path of options.programs ?? [])
    if (typeof path === 'string') await registerFile(registrar, path);
  const otlpOptions = options.otlp === false ? undefined : (options.otlp ?? otlpOptionsFromEnv());
  const otlp = otlpOptions === undefined ? undefined : createOtlpExporter(db, otlpOptions);
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let stopListening: (() => Promise<void>)[] = [];
  if (db.deliversNotifications) {
    const poke = (payload: string) => {
      const pid = Number(payload);
      events.emit('poke', Number.isSafeInteger(pid) && pid > 0 ? pid : undefined);
    };
    stopListening = [await db.listen('aos_exit', poke), await db.listen('aos_wake', poke)];
  }

  const kernel: Kernel = {
    db,
    home: db.kind === 'pglite' ? embeddedHome(options.home) : userAosHome(options.home),
    fileSystem,
    tools,
    models,
    programs,
    register: (path) => registerFile(registrar, path),
    otlp,
    embedder,
    call(name, input, caller = localUser) {
      return dispatch(kernel, name, input, caller);
    },
    createWorker(workerOptions) {
      return new Worker(
        {
          db,
          tools,
          models,
          programs,
          embedder,
          onPoke: kernel.onPoke,
          poke: kernel.poke,
          home: kernel.home,
          ...(otlp === undefined ? {} : { exportTrace: (pid: number) => otlp.exportProcess(pid) }),
        },
        workerOptions,
      );
    },
    poke(pid) {
      events.emit('poke', pid);
    },
    onPoke(listener) {
      events.on('poke', listener);
      return () => events.off('poke', listener);
    },
    waitForChange(ms, pid) {
      return new Promise((resolve) => {
        // A waiter for one process wakes only for news of it (or of no process in particular),
        // so hundreds of waiters do not all read the process table at every slice's end.
        const poked = (about?: number) => {
          if (pid === undefined || about === undefined || about === pid) done();
        };
        const done = () => {
          clearTimeout(timer);
          events.off('poke', poked);
          resolve();
        };
        const timer = setTimeout(done, ms);
        events.on('poke', poked);
      });
    },
    async close() {
      try {
        await otlp?.shutdown();
        // Chain what this kernel appended (a CLI command's audit entry), best effort:
        // the next chainer (a worker, the next kernel) takes it otherwise.
        await drainAudit(db).catch(() => 0);
        // Sign what this command appended: a head no checkpoint covers could be re-hashed undetected.
        if (options.checkpointOnClose === true && (await auditHead(db)) > headAtStart) {
          await writeCheckpoint(db, await checkpointConfigOf(db, kernel.home));
        }
      } finally {
        for (const stop of stopListening) await stop();
        await db.close();
      }
    },
  };
  return kernel;
}
