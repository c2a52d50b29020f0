/**
 * The ports a syscall's handler works through: the database, the agent file system's
 * settings, the embedder, the tools and models, wake-ups. Narrower than the kernel (no
 * workers, no close, no dispatch), so a handler cannot reach around the dispatch path.
 */
import type { ModelResolver } from '../cpu/resolve-model.js';
import type { ToolRegistry } from '../io/tool-registry.js';
import type { Embedder } from '../memory/embedder.js';
import type { AgentDefinition } from '../process/agent-definition.js';
import type { ProgramCatalog } from '../process/programs.js';
import type { Db } from '../storage/db.js';
import type { OtlpExporter } from '../trust/otlp-export.js';

/** What a syscall's handler gets besides its input and caller. */
export interface SyscallContext {
  /** The database; for a kernel tool, a view of the transaction that journals the call. */
  readonly db: Db;
  /** The folder for local files (audit key and checkpoints). */
  readonly home: string;
  /** The agent file system's size limit per file, in bytes. */
  readonly fileSystem: { readonly maxFileBytes: number };
  readonly tools: ToolRegistry;
  readonly models: ModelResolver;
  readonly programs: ProgramCatalog;
  /** What memories are embedded with (the same for adding and searching). */
  readonly embedder: Embedder;
  /** The OTLP trace exporter, when an endpoint is configured. */
  readonly otlp: OtlpExporter | undefined;
  /** Registers an agent file (with the agents it lists) or a program module. */
  register(path: string): Promise<AgentDefinition>;
  /** Wakes workers and waiters: something became runnable or exited. */
  poke(pid?: number): void;
  /** Resolves after the next poke about process `pid` (or about none in particular), or after `ms`. */
  waitForChange(ms: number, pid?: number): Promise<void>;
  /**
   * Runs a handler so that its failure leaves the surrounding transaction usable (a savepoint,
   * for a kernel tool's call inside the transaction that journals it); absent: runs it as is.
   */
  contain?<T>(work: () => Promise<T>): Promise<T>;
}
