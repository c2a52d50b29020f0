/**
 * Turns argv into a command's input object using its zod schema: positional
 * arguments by position, --kebab-case flags for camelCase fields, booleans as bare
 * flags. Values stay strings; the schema coerces them.
 */
import { z } from 'zod';
import { AosError } from '../errors.js';

export interface ParsedArguments {
  input: Record<string, unknown>;
}

/** Which fields of an object schema are booleans (bare flags). */
function booleanFields(schema: z.ZodObject): Set<string> {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as {
    properties?: Record<string, { type?: string }>;
  };
  return new Set(
    Object.entries(json.properties ?? {})
      .filter(([, property]) => property.type === 'boolean')
      .map(([name]) => name),
  );
}

/** camelCase to kebab-case. */
export function flagName(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Parses argv (after the command name) for `schema`; `positional` names the positional fields. */
export function parseArguments(
  argv: string[],
  schema: z.ZodObject,
  positional: string[],
  command: string,
): ParsedArguments {
  const fields = Object.keys(schema.shape);
  const byFlag = new Map(fields.map((field) => [flagName(field), field]));
  const booleans = booleanFields(schema);
  const input: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index]!;
    if (argument === '--') {
      positionals.push(...argv.slice(index + 1));
      break;
    }
    if (!argument.startsWith('--') || argument === '-') {
      positionals.push(argument);
      continue;
    }
    const [rawName, inlineValue] = splitFlag(argument.slice(2));
    const negated = rawName.startsWith('no-') && booleans.has(byFlag.get(rawName.slice(3)) ?? '');
    const field = byFlag.get(negated ? rawName.slice(3) : rawName);
    if (field === undefined) {
      throw new AosError('invalid_input', `${command}: unknown flag --${rawName}`, {
        hint: `see: aos ${command} --help`,
      });
    }
    if (booleans.has(field)) {
      input[field] = inlineValue === undefined ? !negated : inlineValue !== 'false';
      continue;
    }
    const value = inlineValue ?? argv[++index];
    if (value === undefined) {
      throw new AosError('invalid_input', `${command}: flag --${rawName} needs a value`, {
        hint: `see: aos ${command} --help`,
      });
    }
    input[field] = value;
  }
  if (positionals.length > positional.length) {
    throw new AosError(
      'invalid_input',
      `${command}: unexpected argument "${positionals[positional.length]}"`,
      {
        hint: `usage: ${usageOf(command, schema, positional)}`,
      },
    );
  }
  positionals.forEach((value, position) => {
    input[positional[position]!] = value;
  });
  return { input };
}

function splitFlag(flag: string): [string, string | undefined] {
  const equals = flag.indexOf('=');
  return equals === -1 ? [flag, undefined] : [flag.slice(0, equals), flag.slice(equals + 1)];
}

/** A one-line usage string. */
export function usageOf(command: string, schema: z.ZodObject, positional: string[]): string {
  const required = new Set(
    (z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { required?: string[] }).required ??
      [],
  );
  const parts = positional.map((field) =>
    required.has(field) ? flagName(field).toUpperCase() : `[${flagName(field).toUpperCase()}]`,
  );
  const hasFlags = Object.keys(schema.shape).some((field) => !positional.includes(field));
  return ['aos', command, ...parts, ...(hasFlags ? ['[flags]'] : [])].join(' ');
}
