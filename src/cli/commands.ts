/** Every aos command, in the order `aos --help` lists them. */
import type { CliCommand } from './command.js';
import { approvalsCommand, approveCommand, denyCommand } from './commands/approval-commands.js';
import {
  auditCheckpointCommand,
  auditExportCommand,
  auditShowCommand,
  auditVerifyCommand,
} from './commands/audit-commands.js';
import { budgetCommand, cpuCommand, cpuSetCommand } from './commands/cpu-commands.js';
import { doctorCommand } from './commands/doctor.js';
import {
  fsCatCommand,
  fsDiffCommand,
  fsExportCommand,
  fsGrepCommand,
  fsHistoryCommand,
  fsImportCommand,
  fsListCommand,
  fsRemoveCommand,
  fsWriteCommand,
} from './commands/fs-commands.js';
import { initCommand } from './commands/init.js';
import {
  memAddCommand,
  memForgetCommand,
  memGetCommand,
  memImportCommand,
  memListCommand,
  memSearchCommand,
} from './commands/memory-commands.js';
import {
  contextCommand,
  forkCommand,
  killCommand,
  pagesCommand,
  psCommand,
  recallCommand,
  replayCommand,
  sendCommand,
  traceCommand,
  waitCommand,
} from './commands/process-commands.js';
import { runCommand } from './commands/run.js';
import { sandboxCheckCommand, sandboxRunCommand } from './commands/sandbox-commands.js';
import { topCommand } from './commands/top.js';
import { workerCommand } from './commands/worker.js';

export const commands: CliCommand[] = [
  runCommand,
  psCommand,
  killCommand,
  waitCommand,
  sendCommand,
  approvalsCommand,
  approveCommand,
  denyCommand,
  traceCommand,
  contextCommand,
  pagesCommand,
  recallCommand,
  replayCommand,
  forkCommand,
  workerCommand,
  topCommand,
  cpuCommand,
  cpuSetCommand,
  budgetCommand,
  auditShowCommand,
  auditVerifyCommand,
  auditCheckpointCommand,
  auditExportCommand,
  fsListCommand,
  fsCatCommand,
  fsWriteCommand,
  fsRemoveCommand,
  fsHistoryCommand,
  fsGrepCommand,
  fsDiffCommand,
  fsExportCommand,
  fsImportCommand,
  memAddCommand,
  memGetCommand,
  memListCommand,
  memSearchCommand,
  memForgetCommand,
  memImportCommand,
  sandboxCheckCommand,
  sandboxRunCommand,
  initCommand,
  doctorCommand,
] as unknown as CliCommand[];
