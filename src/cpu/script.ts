/**
 * Scripts for the scripted CPU: a YAML or JSON list of turns, each some text, tool
 * calls, or a finish. A turn may carry `match` so it is taken only when the last
 * observation matches, which lets a script branch on what its tools returned.
 */
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { AosError } from '../errors.js';

const turnSchema = z
  .object({
    match: z.string().optional(),
    text: z.string().optional(),
    tool_calls: z
      .array(
        z
          .object({
            name: z.string().min(1),
            arguments: z.record(z.string(), z.unknown()).optional(),
            id: z.string().min(1).optional(),
          })
          .strict(),
      )
      .optional(),
    finish: z.unknown().optional(),
    delay_ms: z.number().int().min(0).optional(),
  })
  .strict();

const scriptSchema = z
  .object({
    delay_ms: z.number().int().min(0).optional(),
    turns: z.array(turnSchema).min(1),
  })
  .strict();

export type ScriptTurn = z.infer<typeof turnSchema>;
export type Script = z.infer<typeof scriptSchema> & { source: string };

/** Parses a script; errors name the file, line and field. */
export function parseScript(text: string, source: string): Script {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = (firstError.linePos?.[0]?.line ?? 0) + 0;
    throw new AosError(
      'invalid_input',
      `${source}:${line}: invalid YAML: ${firstError.message.split('\n')[0]}`,
      {
        hint: 'a script is YAML or JSON with a list of turns (see docs/scripted-cpu.md)',
      },
    );
  }
  const parsed = scriptSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    const node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
    // An unknown key is reported on its map: point at the key itself.
    const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
    const map = path.length === 0 ? document.contents : document.getIn(path, true);
    const key = isMap(map)
      ? map.items.find((item) => isScalar(item.key) && String(item.key.value) === unknown)?.key
      : undefined;
    const offset = (isScalar(key) ? key.range?.[0] : undefined) ?? node?.range?.[0] ?? 0;
    const line = lineCounter.linePos(offset).line;
    const field = [...path, ...(unknown === undefined ? [] : [unknown])].join('.') || '(script)';
    throw new AosError('invalid_input', `${source}:${line}: field "${field}": ${issue.message}`, {
      hint: 'a script is YAML or JSON with a list of turns (see docs/scripted-cpu.md)',
    });
  }
  for (const [index, turn] of parsed.data.turns.entries()) {
    if (turn.match === undefined) continue;
    const node = document.getIn(['turns', index, 'match'], true) as { range?: [number, number, number] };
    const line = lineCounter.linePos(node?.range?.[0] ?? 0).line;
    compileMatch(turn.match, `${source}:${line}: field "turns.${index}.match"`);
  }
  return { ...parsed.data, source };
}

/** A `match` as a predicate: "/regex/flags", or else a case-insensitive substring. */
export function compileMatch(match: string, where: string): (text: string) => boolean {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(match);
  if (regex === null) {
    const needle = match.toLowerCase();
    return (text) => text.toLowerCase().includes(needle);
  }
  try {
    const compiled = new RegExp(regex[1] ?? '', regex[2]);
    return (text) => compiled.test(text);
  } catch (error) {
    throw new AosError('invalid_input', `${where}: invalid regular expression ${match}`, { cause: error });
  }
}
