#!/usr/bin/env node
/**
 * The aos command line: finds the command, parses its arguments from its schema,
 * runs it, and prints the result (text, or JSON with --json) or the error envelope
 * with the exit code of its class.
 */
import { AosError, envelopeOf, toAosError } from '../errors.js';
import { createKernel, type Kernel } from '../kernel.js';
import { packageVersion } from '../package-root.js';
import type { Db } from '../storage/db.js';
import { openDatabase } from '../storage/open-database.js';
import type { CliCommand, CliContext } from './command.js';
import { commands } from './commands.js';
import { describeAll, describeCommand, globalFlags } from './describe.js';
import { printable } from './format.js';
import { parseArguments, usageOf } from './parse-arguments.js';

interface GlobalOptions {
  json: boolean;
  desc: boolean;
  help: boolean;
  url?: string;
  home?: string;
  rest: string[];
}

function takeGlobalOptions(argv: string[]): GlobalOptions {
  const options: GlobalOptions = { json: false, desc: false, help: false, rest: [] };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    // After "--" everything is the command's (a file may be named --home=x).
    if (argument === '--') {
      options.rest.push(...argv.slice(index));
      break;
    }
    if (argument === '--json') options.json = true;
    else if (argument === '--desc') options.desc = true;
    else if (argument === '--help' || argument === '-h') options.help = true;
    else if (argument === '--db' || argument === '--home') {
      const value = argv[++index];
      if (value === undefined) throw new AosError('invalid_input', `${argument} needs a value`);
      if (argument === '--db') options.url = value;
      else options.home = value;
    } else if (argument.startsWith('--db=')) options.url = argument.slice(5);
    else if (argument.startsWith('--home=')) options.home = argument.slice(7);
    else options.rest.push(argument);
  }
  return options;
}

function helpText(): string {
  const width = Math.max(...commands.map((command) => command.name.length));
  return [
    'aos: an operating-system kernel for AI agents, on PostgreSQL',
    '',
    'usage: aos COMMAND [arguments] [flags]',
    '',
    'commands:',
    ...commands.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'flags for every command:',
    ...globalFlags.map((flag) => `  ${flag.flag.padEnd(11)} ${flag.description}`),
  ].join('\n');
}

function commandHelp(command: CliCommand): string {
  const description = describeCommand(command);
  const properties =
    (description.input as { properties?: Record<string, { description?: string }> }).properties ?? {};
  return [
    command.summary,
    '',
    `usage: ${usageOf(command.name, command.input, command.positional)}`,
    '',
    ...Object.entries(properties).map(([field, property]) => {
      const name = command.positional.includes(field) ? field.toUpperCase() : description.flags[field];
      return `  ${String(name).padEnd(18)} ${property.description ?? ''}`;
    }),
    '',
    'examples:',
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const end = argv.indexOf('--');
  let json = (end === -1 ? argv : argv.slice(0, end)).includes('--json');
  let db: Db | undefined;
  let kernel: Kernel | undefined;
  const interrupt = new AbortController();
  // Until a command that stops cleanly on its own is chosen, a signal ends the process at
  // once: an interrupted write must not go on to store half its input and exit 0.
  let handlesInterruption = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (handlesInterruption) {
      interrupt.abort();
      return;
    }
    process.stderr.write(`aos: interrupted by ${signal}\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const options = takeGlobalOptions(argv);
    json = options.json;
    const [name] = options.rest;
    if (name === undefined || name === 'help') {
      if (options.desc)
        process.stdout.write(`${JSON.stringify(describeAll(commands, packageVersion()), null, 2)}\n`);
      else process.stdout.write(`${helpText()}\n`);
      return 0;
    }
    if (name === '--version' || name === 'version') {
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    }
    // Longest name first, so "cpu set" wins over "cpu".
    const command = [...commands]
      .sort((left, right) => right.name.length - left.name.length)
      .find((candidate) => candidate.name.split(' ').every((word, index) => options.rest[index] === word));
    const rest = options.rest.slice(command?.name.split(' ').length ?? 1);
    if (command === undefined) {
      throw new AosError('invalid_input', `unknown command "${name}"`, { hint: 'see: aos --help' });
    }
    if (options.desc) {
      process.stdout.write(`${JSON.stringify(describeCommand(command), null, 2)}\n`);
      return 0;
    }
    if (options.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    handlesInterruption = command.handlesInterruption === true;
    const { input } = parseArguments(rest, command.input, command.positional, command.name);
    const parsed = command.input.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.map(String).join('.');
      const label = command.positional.includes(field) ? field.toUpperCase() : `--${field}`;
      throw new AosError(
        'invalid_input',
        `${command.name}: ${field === '' ? '' : `${label}: `}${issue.message}`,
        {
          hint: `usage: ${usageOf(command.name, command.input, command.positional)}`,
        },
      );
    }
    const context: CliContext = {
      async db() {
        db ??= await openDatabase({ url: options.url, home: options.home });
        return db;
      },
      async kernel() {
        kernel ??= await createKernel({ db: await context.db(), checkpointOnClose: true });
        return kernel;
      },
      database: { url: options.url, home: options.home },
      json,
      say: (line) => {
        if (!json) process.stderr.write(`${printable(line)}\n`);
      },
      emit: (value) => {
        if (json) process.stdout.write(`${JSON.stringify(value)}\n`);
      },
      interrupted: interrupt.signal,
    };
    const output = await command.run(context, parsed.data);
    if (json) {
      if (!command.streams) process.stdout.write(`${JSON.stringify(output)}\n`);
    } else {
      // Agents write most of what is shown (questions, results, names): never raw to a terminal.
      const text = printable(command.format(output));
      if (text !== '') process.stdout.write(`${text}\n`);
    }
    return command.exitCode?.(output) ?? 0;
  } catch (error) {
    const aosError = toAosError(error);
    if (json) {
      process.stderr.write(`${JSON.stringify(envelopeOf(aosError))}\n`);
    } else {
      process.stderr.write(`aos: ${aosError.code}: ${printable(aosError.message)}\n`);
      if (aosError.hint !== undefined) process.stderr.write(`  hint: ${printable(aosError.hint)}\n`);
      if (aosError.code === 'internal' && aosError.cause instanceof Error && process.env.AOS_DEBUG) {
        process.stderr.write(`${aosError.cause.stack}\n`);
      }
    }
    return aosError.exitCode;
  } finally {
    if (kernel !== undefined) await kernel.close().catch(() => {});
    else if (db !== undefined) await db.close().catch(() => {});
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`aos: internal: ${printable(String(error))}\n`);
    process.exitCode = 1;
  },
);
