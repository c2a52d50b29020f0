/** The memory commands whose CLI face differs from the syscall's: mem search (one query, or a batch file) and mem import (a host file). */
import { z } from 'zod';
import { AosError } from '../../errors.js';
import { parseLines, queryLineSchema } from '../../memory/memory-lines.js';
import {
  memImportSyscall,
  memSearchInputSchema,
  memSearchSyscall,
  searchResultSchema,
} from '../../syscalls/memory.js';
import { defineCommand } from '../command.js';
import { readHostText } from '../host-text.js';
import { oneLine } from '../text-formats.js';

/** The largest JSON-lines file mem import reads. */
const maxImportBytes = 1 << 30;

export const memImportCommand = defineCommand({
  name: memImportSyscall.name,
  summary: 'Import memories from a JSON-lines file, all or nothing',
  input: z
    .object({
      ns: memImportSyscall.input.shape.ns,
      file: z
        .string()
        .min(1)
        .describe('JSON lines: {"id","text","time"?,"thread"?,"seq"?,"kind"?,"importance"?,"meta"?}'),
    })
    .strict(),
  positional: ['file'],
  output: memImportSyscall.output,
  errors: memImportSyscall.errors,
  examples: [
    'aos mem import --ns bench:c1 conversation.jsonl',
    'aos mem import --ns agent:notes notes.jsonl --json',
  ],
  async run(context, input) {
    // The host file is read here, by the CLI face; the syscall takes the lines.
    const lines = await readHostText(input.file, maxImportBytes, (reason) => cannotRead(input.file, reason));
    const kernel = await context.kernel();
    return kernel.call('mem import', { ns: input.ns, lines, source: input.file });
  },
  format: (output) =>
    `imported ${output.imported} memories into ${output.namespace}${output.embeddingModel === null ? '' : ` (embedded with ${output.embeddingModel})`}`,
});

function cannotRead(file: string, reason: string): AosError {
  return new AosError('invalid_input', `cannot read ${file}: ${reason}`, {
    hint: 'give the path of a JSON-lines file (one JSON object per line)',
  });
}

/** One line of `mem search --batch` output. */
export const batchLineSchema = z.object({
  id: z.string(),
  results: z.array(z.object({ id: z.string(), score: z.number(), text: z.string() })),
});

/** What `mem search --batch` returns after streaming its lines (not printed). */
const batchDoneSchema = z.object({ answered: z.number().int() });

export const memSearchCommand = defineCommand({
  name: 'mem search',
  summary: `${memSearchSyscall.summary}; with --batch FILE ({"id","query"} lines), one JSON line per query: {"id","results":[{"id","score","text"}]}`,
  input: memSearchInputSchema.extend({
    query: z.string().optional().describe('what to look for, in words (or --batch)'),
    batch: z
      .string()
      .min(1)
      .optional()
      .describe('a JSON-lines file of {"id","query"}: one output line per query'),
  }),
  positional: ['query'],
  output: z.union([z.array(searchResultSchema), batchLineSchema, batchDoneSchema]),
  errors: memSearchSyscall.errors,
  streams: true,
  examples: [
    'aos mem search --ns agent:researcher "what did we decide about the cache"',
    'aos mem search --ns process:7,agent:researcher --k 5 --kind page,fact "outage timeline" --json',
    'aos mem search --ns bench:c1 --k 10 --batch questions.jsonl > results.jsonl',
  ],
  async run(context, input) {
    const { batch, query, ...options } = input;
    if ((batch === undefined) === (query === undefined)) {
      throw new AosError('invalid_input', 'mem search: give a QUERY or --batch FILE (one of them)', {
        hint: 'usage: aos mem search --ns NS QUERY, or aos mem search --ns NS --batch FILE',
      });
    }
    const kernel = await context.kernel();
    if (query !== undefined) {
      const results = await kernel.call('mem search', { ...options, query });
      context.emit(results);
      return results;
    }
    // Every line is checked before the first search, so a bad file answers nothing.
    const text = await readHostText(batch!, maxImportBytes, (reason) => cannotRead(batch!, reason));
    const queries = parseLines(text, queryLineSchema, batch!, '{"id","query"}');
    for (const { value } of queries) {
      const results = await kernel.call('mem search', { ...options, query: value.query });
      const line = {
        id: value.id,
        results: results.map((result) => ({ id: result.id, score: result.score, text: result.text })),
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
    return { answered: queries.length };
  },
  format: (output) =>
    !Array.isArray(output)
      ? ''
      : output.length === 0
        ? 'no memories found'
        : output
            .map(
              (result) =>
                `${result.score.toFixed(4)}  ${result.namespace} ${result.id} [${result.kind}]  ${oneLine(result.text, 90)}`,
            )
            .join('\n'),
});
