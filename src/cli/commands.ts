/** Every aos command, in the order `aos --help` lists them. */
import type { CliCommand } from './command.js';
import {
  auditCheckpointCommand,
  auditExportCommand,
  auditShowCommand,
  auditVerifyCommand,
} from './commands/audit-commands.js';
import { budgetCommand, cpuCommand, cpuSetCommand } from './commands/cpu-commands.js';
import { doctorCommand } from './commands/doctor.js';
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
  killCommand,
  psCommand,
  sendCommand,
  traceCommand,
  waitCommand,
} from './commands/process-commands.js';
import { runCommand } from './commands/run.js';
import { topCommand } from './commands/top.js';
import { workerCommand } from './commands/worker.js';

export const commands: CliCommand[] = [
  runCommand,
  psCommand,
  killCommand,
  waitCommand,
  sendCommand,
  traceCommand,
  workerCommand,
  topCommand,
  cpuCommand,
  cpuSetCommand,
  budgetCommand,
  auditShowCommand,
  auditVerifyCommand,
  auditCheckpointCommand,
  auditExportCommand,
  memAddCommand,
  memGetCommand,
  memListCommand,
  memSearchCommand,
  memForgetCommand,
  memImportCommand,
  initCommand,
  doctorCommand,
] as unknown as CliCommand[];
