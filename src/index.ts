/** The public API of aos: explicit named exports only. */

export type {
  Message,
  ModelDriver,
  ModelRequest,
  ModelResponse,
  ToolCall,
  ToolSpec,
  Usage,
} from './cpu/model.js';
export { createModelResolver, type ModelResolver, type ModelSource } from './cpu/resolve-model.js';
export { parseScript, type Script } from './cpu/script.js';
export { ScriptedDriver } from './cpu/scripted-driver.js';
export {
  AosError,
  type ErrorCode,
  type ErrorEnvelope,
  envelopeOf,
  errorCodes,
  exitCodeOf,
  statusOf,
  toAosError,
} from './errors.js';
export { type ContentKind, defaultMaxFileBytes } from './fs/content.js';
export { type DiffFilesInput, diffFiles, type FileDiff } from './fs/diff-files.js';
export { type ExportReport, type ExportTreeInput, exportTree } from './fs/export-tree.js';
export {
  contentBytes,
  type FileContent,
  type FileVersion,
  type VersionKind,
} from './fs/file-version.js';
export { type GrepFilesInput, type GrepMatch, type GrepResult, grepFiles } from './fs/grep-files.js';
export { type ImportReport, type ImportTreeInput, importTree } from './fs/import-tree.js';
export { type FileEntry, type ListFilesInput, listFiles } from './fs/list-files.js';
export { normaliseDirectoryPath, normaliseFilePath } from './fs/paths.js';
export { type FileHistoryInput, fileHistory, type ReadFileInput, readFile } from './fs/read-file.js';
export {
  type RemoveFileInput,
  removeFile,
  type WriteFileInput,
  type WrittenFile,
  writeFile,
} from './fs/write-file.js';
export {
  defineTool,
  errorResult,
  type Tool,
  type ToolAnnotations,
  type ToolContext,
  type ToolOutcome,
  type ToolProcess,
  textResult,
} from './io/tool.js';
export {
  createKernel,
  type FileSystemOptions,
  type Kernel,
  type KernelOptions,
  type SyscallInput,
  type SyscallOutput,
} from './kernel.js';
export {
  type AgentDefinition,
  loadAgentBundle,
  loadAgentFile,
  parseAgentFile,
} from './process/agent-definition.js';
export type { Process, ProcessState } from './process/process-table.js';
export {
  type ChildOutcome,
  type Decision,
  type DeliveredSignal,
  defineProgram,
  isProgram,
  type Program,
  type ProgramContext,
  type ProgramFunction,
  type ProgramModelRequest,
  type ProgramOptions,
  type Received,
  type ToolResult,
} from './process/program.js';
export { type SignalName, signalNames, signalNumbers } from './process/signals.js';
export { Worker, type WorkerEvent, type WorkerOptions } from './process/worker.js';
export { databaseIdentity } from './storage/database-identity.js';
export type { Db, DbKind, DedicatedConnection, Queryable, QueryResult } from './storage/db.js';
export { checkSchemaVersion, migrate } from './storage/migrate.js';
export { type DatabaseChoice, openDatabase } from './storage/open-database.js';
export { createPgliteDb, openPglite } from './storage/pglite-db.js';
export { createPostgresDb, type PostgresDbOptions } from './storage/postgres-db.js';
export { defaultSessionBounds, type SessionBounds, workerSessionBounds } from './storage/session-bounds.js';
export { type CliFace, httpRouteOf, type ToolFace, toolNameOf } from './syscalls/faces.js';
export { type Caller, localUser, type ProcessCaller, type UserCaller } from './syscalls/syscall.js';
export type { SyscallContext } from './syscalls/syscall-context.js';
export { type SyscallName, syscalls } from './syscalls/table.js';
export {
  createOtlpExporter,
  type ExportedTrace,
  type OtlpExporter,
  type OtlpOptions,
  otlpOptionsFromEnv,
  spanIdOf,
  traceIdOf,
} from './trust/otlp-export.js';
export { formatTrace, type Span, type Trace, traceOf } from './trust/trace.js';
