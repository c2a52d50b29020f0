/**
 * The shape of a CLI command: its arguments as a zod object (positional ones
 * named), its output schema, the errors it returns, examples, a handler, and a
 * human formatter. --desc, --help and --json all come from this one definition.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../errors.js';
import type { Kernel } from '../kernel.js';
import type { Db } from '../storage/db.js';
import type { Syscall } from '../syscalls/syscall.js';

/** What a command's handler gets. */
export interface CliContext {
  /** Opens the database (once; later calls return the same one). */
  db(): Promise<Db>;
  /** Opens the kernel on that database, migrating it (once). */
  kernel(): Promise<Kernel>;
  /** Global options. */
  database: { url?: string | undefined; home?: string | undefined };
  json: boolean;
  /** A progress line for people (stderr; nothing with --json). */
  say(line: string): void;
  /** One JSON line on stdout, for streaming commands with --json. */
  emit(value: unknown): void;
  /** Aborted on SIGINT or SIGTERM. */
  interrupted: AbortSignal;
}

export interface CliCommand<Input extends z.ZodObject = z.ZodObject, Output extends z.ZodType = z.ZodType> {
  name: string;
  summary: string;
  input: Input;
  /** Fields taken from positional arguments, in order. */
  positional: string[];
  output: Output;
  errors: ErrorCode[];
  examples: string[];
  /** True when --json prints one JSON line per event rather than one document. */
  streams?: boolean;
  /**
   * True when the command stops cleanly on `interrupted` itself. Any other command
   * exits at once on SIGINT or SIGTERM (130, 143), before committing anything more.
   */
  handlesInterruption?: boolean;
  run(context: CliContext, input: z.output<Input>): Promise<z.input<Output>>;
  /** The output as text for people. */
  format(output: z.output<Output>): string;
  /** The exit code for a successful run (run and wait exit with the process's status). */
  exitCode?(output: z.output<Output>): number;
}

/** Defines a command with types inferred from its schemas. */
export function defineCommand<Input extends z.ZodObject, Output extends z.ZodType>(
  command: CliCommand<Input, Output>,
): CliCommand<Input, Output> {
  return command;
}

/** A command that calls a syscall and prints its output. */
export function syscallCommand<Input extends z.ZodObject, Output extends z.ZodType>(
  syscall: Syscall<Input, Output> & { name: string },
  cli: Pick<CliCommand<Input, Output>, 'positional' | 'examples' | 'format' | 'exitCode'>,
): CliCommand<Input, Output> {
  return {
    name: syscall.name,
    summary: syscall.summary,
    input: syscall.input,
    output: syscall.output,
    errors: syscall.errors,
    ...cli,
    async run(context, input) {
      const kernel = await context.kernel();
      return (await kernel.call(syscall.name as never, input as never)) as never;
    },
  };
}
