/**
 * The JSON-lines files of `aos mem import` and `aos mem search --batch`: one object per
 * line, blank lines skipped, every line checked before anything is done, so a bad line
 * (named by its number) means nothing is imported or searched.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AosError } from '../errors.js';
import { memoryKindSchema, type NewMemory } from './memory.js';

/** One line of an import file: {"id","text","time"?,"thread"?,"seq"?,"kind"?,"importance"?,"meta"?}. */
export const importLineSchema = z
  .object({
    id: z.union([z.string().min(1).max(200), z.number().int().transform(String)]).optional(),
    text: z.string().refine((text) => text.trim() !== '', 'must not be empty'),
    time: z
      .union([z.string(), z.number()])
      .refine(
        (time) => !Number.isNaN(new Date(time).getTime()),
        'must be an ISO 8601 date or milliseconds since 1970',
      )
      .optional(),
    thread: z.union([z.string().min(1), z.number().transform(String)]).optional(),
    seq: z.number().int().optional(),
    kind: memoryKindSchema.optional(),
    importance: z.number().min(0).max(1).optional(),
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

/** One line of a batch search file: {"id","query"}. */
export const queryLineSchema = z
  .object({ id: z.union([z.string().min(1), z.number().transform(String)]), query: z.string() })
  .strict();

/** Reads a file's text; `invalid_input` with a hint when it cannot be read. */
export function readLinesFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new AosError(
      'invalid_input',
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      {
        hint: 'give the path of a JSON-lines file (one JSON object per line)',
        cause: error,
      },
    );
  }
}

/** How deep a line's JSON may nest: deeper values would overflow the stack when stored. */
export const maxJsonDepth = 64;

/** The nesting depth of a parsed JSON value (0 for a scalar), counted without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: next, depth } = pending.pop()!;
    if (typeof next !== 'object' || next === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > maxJsonDepth) return deepest;
    for (const child of Object.values(next)) pending.push({ value: child, depth: depth + 1 });
  }
  return deepest;
}

/** Parses every non-blank line with `schema`; the first bad line is `invalid_input` naming FILE:LINE. */
export function parseLines<T>(
  text: string,
  schema: z.ZodType<T>,
  file: string,
  shape: string,
): { line: number; value: T }[] {
  const parsed: { line: number; value: T }[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const fail = (message: string) =>
      new AosError('invalid_input', `${file}:${line}: ${message}`, {
        hint: `each line is one JSON object: ${shape}; nothing was done`,
      });
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (error) {
      throw fail(`not valid JSON (${(error as Error).message})`);
    }
    if (depthOf(json) > maxJsonDepth) throw fail(`nested deeper than ${maxJsonDepth} levels`);
    const result = schema.safeParse(json);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const field = issue.path.length > 0 ? `field "${issue.path.join('.')}": ` : '';
      throw fail(`${field}${issue.message}`);
    }
    parsed.push({ line, value: result.data });
  });
  return parsed;
}

/** The memories of an import file, checked line by line; ids repeated in the file are `invalid_input`. */
export function parseImportFile(text: string, file: string): NewMemory[] {
  const lines = parseLines(
    text,
    importLineSchema,
    file,
    '{"id","text","time"?,"thread"?,"seq"?,"kind"?,"importance"?,"meta"?}',
  );
  const seen = new Map<string, number>();
  for (const { line, value } of lines) {
    if (value.id === undefined) continue;
    const earlier = seen.get(value.id);
    if (earlier !== undefined) {
      throw new AosError('invalid_input', `${file}:${line}: id "${value.id}" is also on line ${earlier}`, {
        hint: 'ids are unique in a namespace; nothing was imported',
      });
    }
    seen.set(value.id, line);
  }
  return lines.map(({ value }) => value);
}
