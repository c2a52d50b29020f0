/**
 * Every aos command, in the order `aos --help` lists them: each syscall of the table as
 * `aos NAME` (made from its CLI face, or the command that replaces it where the CLI face
 * reads or writes host files or streams), and a short list of CLI-only commands.
 */
import type { Syscall } from '../syscalls/syscall.js';
import { syscalls } from '../syscalls/table.js';
import { type CliCommand, syscallCommand } from './command.js';
import { auditExportCommand } from './commands/audit-commands.js';
import { budgetCommand, cpuCommand, cpuSetCommand } from './commands/cpu-commands.js';
import { doctorCommand } from './commands/doctor.js';
import { forkCommand } from './commands/fork.js';
import { fsCatCommand, fsExportCommand, fsImportCommand, fsWriteCommand } from './commands/fs-commands.js';
import { initCommand } from './commands/init.js';
import { memImportCommand, memSearchCommand } from './commands/memory-commands.js';
import { runCommand } from './commands/run.js';
import { sandboxCheckCommand, sandboxRunCommand } from './commands/sandbox-commands.js';
import { topCommand } from './commands/top.js';
import { workerCommand } from './commands/worker.js';
import { textFaces } from './text-formats.js';

/** Commands that replace a syscall's generated one: same name, and they call that syscall. */
const replacements = [
  fsCatCommand,
  fsWriteCommand,
  fsExportCommand,
  fsImportCommand,
  memImportCommand,
  memSearchCommand,
  forkCommand,
  cpuCommand,
  cpuSetCommand,
  budgetCommand,
] as unknown as CliCommand[];

/** The CLI face of one syscall. */
function commandOf(syscall: Syscall): CliCommand {
  const replacement = replacements.find((command) => command.name === syscall.name);
  if (replacement !== undefined) return replacement;
  if (syscall.cli === undefined) throw new Error(`syscall "${syscall.name}" has no CLI face`);
  const text = textFaces[syscall.name as keyof typeof textFaces] as
    | { format(output: unknown): string; exitCode?(output: unknown): number }
    | undefined;
  return syscallCommand(syscall as never, {
    ...syscall.cli,
    format: text?.format ?? ((output: unknown) => JSON.stringify(output, null, 2)),
    ...(text?.exitCode === undefined ? {} : { exitCode: text.exitCode }),
  }) as unknown as CliCommand;
}

/** The commands that are no syscall: they run workers, watch, export, set up, check. */
export const cliOnlyCommands = [
  runCommand,
  workerCommand,
  topCommand,
  auditExportCommand,
  sandboxCheckCommand,
  sandboxRunCommand,
  initCommand,
  doctorCommand,
] as unknown as CliCommand[];

export const commands: CliCommand[] = [
  cliOnlyCommands[0]!,
  ...(Object.values(syscalls) as Syscall[]).map(commandOf),
  ...cliOnlyCommands.slice(1),
];
