/** Machine-readable descriptions of commands (--desc), generated from their definitions. */
import { z } from 'zod';
import { errorCodes, exitCodeOf, statusOf } from '../errors.js';
import type { CliCommand } from './command.js';
import { flagName, usageOf } from './parse-arguments.js';

/** Flags every command accepts. */
export const globalFlags = [
  {
    flag: '--json',
    description: 'print one JSON document on stdout (JSON lines for streams); errors as JSON on stderr',
  },
  { flag: '--desc', description: 'print this description of the command as JSON' },
  { flag: '--help', description: 'print usage for people' },
  {
    flag: '--db URL',
    description: 'a PostgreSQL server (default: AOS_DATABASE_URL, else the embedded database)',
  },
  { flag: '--home DIR', description: 'the embedded database folder (default: AOS_HOME, else ./.aos)' },
];

/** The description of one command. */
export function describeCommand(command: CliCommand) {
  const codes = ['internal', 'unavailable', ...command.errors];
  return {
    name: command.name,
    summary: command.summary,
    usage: usageOf(command.name, command.input, command.positional),
    positional: command.positional,
    flags: Object.fromEntries(
      Object.keys(command.input.shape)
        .filter((field) => !command.positional.includes(field))
        .map((field) => [field, `--${flagName(field)}`]),
    ),
    input: schemaOf(command.input, 'input'),
    output: schemaOf(command.output, 'output'),
    streams: command.streams ?? false,
    errors: errorCodes
      .filter((code) => codes.includes(code))
      .map((code) => ({ code, status: statusOf(code), exit: exitCodeOf(code) })),
    examples: command.examples,
  };
}

/** The description of aos as a whole. */
export function describeAll(commands: CliCommand[], version: string) {
  return {
    name: 'aos',
    version,
    summary: 'an operating-system kernel for AI agents, on PostgreSQL',
    globalFlags,
    errorEnvelope: '{"error":{"code","status","message","hint","retryable"}}',
    commands: commands.map(describeCommand),
  };
}

function schemaOf(schema: z.ZodType, io: 'input' | 'output') {
  const json = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}
