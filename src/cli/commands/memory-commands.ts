/** mem add, mem get, mem ls, mem forget, mem search (one query, or a batch file), mem import. */
import { z } from 'zod';
import { AosError } from '../../errors.js';
import type { Memory } from '../../memory/memory.js';
import { parseLines, queryLineSchema, readLinesFile } from '../../memory/memory-lines.js';
import {
  memAddSyscall,
  memForgetSyscall,
  memGetSyscall,
  memImportSyscall,
  memListSyscall,
  memSearchInputSchema,
  memSearchSyscall,
  searchResultSchema,
} from '../../syscalls/memory.js';
import { defineCommand, syscallCommand } from '../command.js';

function oneLine(text: string, length: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= length ? line : `${line.slice(0, length - 1)}…`;
}

function formatMemory(memory: Memory): string {
  const place = memory.thread === null ? '' : `  ${memory.thread}#${memory.seq ?? '-'}`;
  return `${memory.namespace} ${memory.id} [${memory.kind}] ${memory.time}${place}\n${memory.text}`;
}

export const memAddCommand = syscallCommand(memAddSyscall, {
  positional: ['text'],
  examples: [
    'aos mem add --ns agent:researcher "The staging database is read-only on Fridays" --kind fact',
    'aos mem add --ns owner:local "Ada prefers short answers" --id prefs --importance 0.9 --json',
  ],
  format: (memory) => `remembered ${memory.namespace} ${memory.id}`,
});

export const memGetCommand = syscallCommand(memGetSyscall, {
  positional: ['id'],
  examples: ['aos mem get --ns agent:researcher m12', 'aos mem get --ns process:7 p3 --json'],
  format: formatMemory,
});

export const memListCommand = syscallCommand(memListSyscall, {
  positional: [],
  examples: [
    'aos mem ls --ns agent:researcher',
    'aos mem ls --ns bench:c1 --thread s3 --json',
    'aos mem ls --kind fact',
  ],
  format: (memories) =>
    memories.length === 0
      ? 'no memories'
      : memories
          .map(
            (memory) =>
              `${memory.namespace}  ${memory.id}  ${memory.kind.padEnd(9)} ${memory.time}  ${oneLine(memory.text, 80)}`,
          )
          .join('\n'),
});

export const memForgetCommand = syscallCommand(memForgetSyscall, {
  positional: ['id'],
  examples: ['aos mem forget --ns agent:researcher m12'],
  format: (output) => `forgot ${output.namespace} ${output.id}`,
});

export const memImportCommand = syscallCommand(memImportSyscall, {
  positional: ['file'],
  examples: [
    'aos mem import --ns bench:c1 conversation.jsonl',
    'aos mem import --ns agent:notes notes.jsonl --json',
  ],
  format: (output) =>
    `imported ${output.imported} memories into ${output.namespace}${output.embeddingModel === null ? '' : ` (embedded with ${output.embeddingModel})`}`,
});

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
    const queries = parseLines(readLinesFile(batch!), queryLineSchema, batch!, '{"id","query"}');
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
