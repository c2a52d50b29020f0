/** fs ls, fs cat, fs history, fs grep, fs diff: reading the agent file system. */
import { z } from 'zod';
import { formatBytes } from '../fs/content.js';
import { diffFiles } from '../fs/diff-files.js';
import { grepFiles } from '../fs/grep-files.js';
import { listFiles } from '../fs/list-files.js';
import { fileHistory, readFile } from '../fs/read-file.js';
import {
  fileContentSchema,
  fileDiffSchema,
  fileEntrySchema,
  fileVersionSchema,
  grepResultSchema,
  namespaceSchema,
} from './fs-schemas.js';
import { defineSyscall } from './syscall.js';

const nsHelp =
  "The namespace (ns) is this process's own (process:PID) unless it names its agent's (agent:NAME) or its owner's (owner:NAME).";

/** Lines `first` to `first + limit - 1` of a text (1-based), and which they are of how many. */
function linesOf(text: string, first: number, limit: number | undefined) {
  const lines = text.split('\n');
  if (text.endsWith('\n')) lines.pop();
  const shown = lines.slice(first - 1, limit === undefined ? undefined : first - 1 + limit);
  return {
    content: shown.join('\n'),
    lines: { first, last: first + shown.length - 1, total: lines.length },
  };
}

const filePath = z.string().min(1).describe('an absolute path such as /notes/plan.md');
const versionNumber = z.coerce.number().int().positive();

export const fsListSyscall = defineSyscall({
  name: 'fs ls',
  summary: 'List a directory of a namespace: files and subdirectories, or every file below with --recursive',
  input: z
    .object({
      ns: namespaceSchema,
      path: z.string().default('/').describe('a directory (default /) or a file'),
      recursive: z.boolean().default(false).describe('every file below, instead of one level'),
    })
    .strict(),
  output: z.array(fileEntrySchema),
  cli: {
    positional: ['path'],
    examples: ['aos fs ls --ns process:12', 'aos fs ls --ns agent:researcher /notes --recursive --json'],
  },
  tool: {
    description: `List a directory (default /): its files and subdirectories, or with recursive every file below it. ${nsHelp}`,
    fields: ['ns', 'path', 'recursive'],
    given: (caller) => ({ ns: caller.namespaces[0]! }),
    annotations: { readOnly: true, idempotent: true },
    aliases: ['fs_list'],
    renamed: { namespace: 'ns' },
    text: (entries) =>
      entries.length === 0
        ? '(empty)'
        : entries
            .map((entry) =>
              entry.type === 'directory'
                ? `${entry.path}/  (${entry.files} file${entry.files === 1 ? '' : 's'}, ${formatBytes(entry.size)})`
                : `${entry.path}  (version ${entry.version}, ${entry.kind}, ${formatBytes(entry.size)})`,
            )
            .join('\n'),
  },
  capability: 'fs.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    return listFiles(context.db, { namespace: input.ns, path: input.path, recursive: input.recursive });
  },
});

export const fsCatSyscall = defineSyscall({
  name: 'fs cat',
  summary: 'Print a file: the latest version, or --version N (binary files byte for byte; base64 in --json)',
  input: z
    .object({
      ns: namespaceSchema,
      path: filePath,
      version: versionNumber.optional().describe('a version number (default the latest)'),
      offset: z.coerce
        .number()
        .int()
        .positive()
        .optional()
        .describe('the first line to show (1-based; text files)'),
      limit: z.coerce.number().int().positive().optional().describe('how many lines to show (text files)'),
    })
    .strict(),
  output: fileContentSchema.extend({
    lines: z
      .object({ first: z.number().int(), last: z.number().int(), total: z.number().int() })
      .optional()
      .describe('with offset or limit: the lines shown, of how many'),
  }),
  cli: {
    positional: ['path'],
    examples: [
      'aos fs cat --ns process:12 /notes/plan.md',
      'aos fs cat --ns process:12 /notes/plan.md --version 2',
      'aos fs cat --ns process:12 /notes/plan.md --offset 10 --limit 20',
      'aos fs cat --ns agent:researcher /logo.png > logo.png',
      'aos fs cat --ns process:12 /notes/plan.md --json',
    ],
  },
  tool: {
    description: `Read a file (the latest version, or a given one). With offset and limit, read only those lines (1-based). Binary files are described, not shown. ${nsHelp}`,
    fields: ['ns', 'path', 'version', 'offset', 'limit'],
    given: (caller) => ({ ns: caller.namespaces[0]! }),
    annotations: { readOnly: true, idempotent: true },
    aliases: ['fs_read'],
    renamed: { namespace: 'ns' },
    text: (file) =>
      file.kind === 'binary'
        ? `${file.path} (version ${file.version}) is a binary file of ${formatBytes(file.size)}, sha256 ${file.sha256}: its content is not shown`
        : file.lines === undefined
          ? file.content
          : `${file.content}${file.content.endsWith('\n') || file.content === '' ? '' : '\n'}[lines ${file.lines.first}-${file.lines.last} of ${file.lines.total}${file.lines.last < file.lines.total ? `; read on with offset ${file.lines.last + 1}` : ''}]`,
  },
  capability: 'fs.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    const file = await readFile(context.db, {
      namespace: input.ns,
      path: input.path,
      ...(input.version === undefined ? {} : { version: input.version }),
    });
    if ((input.offset === undefined && input.limit === undefined) || file.kind === 'binary') return file;
    return { ...file, ...linesOf(file.content, input.offset ?? 1, input.limit) };
  },
});

export const fsHistorySyscall = defineSyscall({
  name: 'fs history',
  summary: 'The versions of a file, newest first, removals included',
  input: z.object({ ns: namespaceSchema, path: filePath }).strict(),
  output: z.array(fileVersionSchema),
  cli: {
    positional: ['path'],
    examples: [
      'aos fs history --ns process:12 /notes/plan.md',
      'aos fs history --ns process:12 /notes/plan.md --json',
    ],
  },
  tool: {
    description: `The versions of a file, newest first, removals included. ${nsHelp}`,
    fields: ['ns', 'path'],
    given: (caller) => ({ ns: caller.namespaces[0]! }),
    annotations: { readOnly: true, idempotent: true },
    renamed: { namespace: 'ns' },
    text: (versions) =>
      versions
        .map(
          (each) =>
            `version ${each.version}  ${each.createdAt}  ${each.kind === 'removed' ? 'removed' : `${each.kind}, ${formatBytes(each.size)}`}  by ${each.authorPid === null ? 'a user' : `process ${each.authorPid}`}`,
        )
        .join('\n'),
  },
  capability: 'fs.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    return fileHistory(context.db, { namespace: input.ns, path: input.path });
  },
});

export const fsGrepSyscall = defineSyscall({
  name: 'fs grep',
  summary:
    'Search the latest text files for a regular expression (PostgreSQL syntax; \\y is a word boundary) or a --fixed string',
  input: z
    .object({
      ns: namespaceSchema,
      pattern: z.string().min(1).describe('a regular expression, or a plain string with --fixed'),
      path: z.string().default('/').describe('search only under this directory (or this file)'),
      fixed: z.boolean().default(false).describe('take the pattern as a plain string'),
      ignoreCase: z.boolean().default(false).describe('match regardless of case'),
      maxMatches: z.coerce.number().int().positive().default(1000).describe('stop after this many lines'),
    })
    .strict(),
  output: grepResultSchema,
  cli: {
    positional: ['pattern', 'path'],
    examples: [
      'aos fs grep --ns process:12 TODO',
      "aos fs grep --ns agent:researcher '\\yerror\\y' /logs --ignore-case",
      'aos fs grep --ns process:12 "a.b" --fixed --json',
    ],
  },
  tool: {
    description: `Search the latest text files under path (default /) for a regular expression (PostgreSQL syntax: \\y is a word boundary) or, with fixed, a plain string. ${nsHelp}`,
    fields: ['ns', 'pattern', 'path', 'fixed', 'ignoreCase', 'maxMatches'],
    given: (caller) => ({ ns: caller.namespaces[0]!, maxMatches: 200 }),
    annotations: { readOnly: true, idempotent: true },
    renamed: { namespace: 'ns' },
    text: (found) =>
      [
        ...found.matches.map((match) => `${match.path}:${match.line}: ${match.text}`),
        ...(found.truncated ? ['[more matches: narrow the path or the pattern]'] : []),
      ].join('\n') || 'no matches',
  },
  capability: 'fs.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    return grepFiles(context.db, { ...input, namespace: input.ns });
  },
});

export const fsDiffSyscall = defineSyscall({
  name: 'fs diff',
  summary: 'A unified diff between two versions of a file (default: the latest and the one before it)',
  input: z
    .object({
      ns: namespaceSchema,
      path: filePath,
      from: z.coerce
        .number()
        .int()
        .min(0)
        .optional()
        .describe('the older version (0: before the file existed)'),
      to: versionNumber.optional().describe('the newer version (default the latest)'),
      context: z.coerce.number().int().min(0).default(3).describe('lines of context around changes'),
    })
    .strict(),
  output: fileDiffSchema,
  cli: {
    positional: ['path'],
    examples: [
      'aos fs diff --ns process:12 /notes/plan.md',
      'aos fs diff --ns process:12 /notes/plan.md --from 1 --to 3',
      'aos fs diff --ns process:12 /notes/plan.md --json',
    ],
  },
  tool: {
    description: `A unified diff between two versions of a file: by default the latest and the one before it. Version 0 is the empty file before version 1. ${nsHelp}`,
    fields: ['ns', 'path', 'from', 'to', 'context'],
    given: (caller) => ({ ns: caller.namespaces[0]! }),
    annotations: { readOnly: true, idempotent: true },
    renamed: { namespace: 'ns' },
    text: (compared) =>
      compared.identical
        ? `versions ${compared.from?.version ?? 0} and ${compared.to.version} of ${compared.path} are identical`
        : compared.diff,
  },
  capability: 'fs.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    return diffFiles(context.db, {
      namespace: input.ns,
      path: input.path,
      context: input.context,
      ...(input.from === undefined ? {} : { from: input.from }),
      ...(input.to === undefined ? {} : { to: input.to }),
    });
  },
});
