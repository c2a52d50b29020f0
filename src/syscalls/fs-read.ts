/** fs ls, fs cat, fs history, fs grep, fs diff: reading the agent file system. */
import { z } from 'zod';
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
    })
    .strict(),
  output: fileContentSchema,
  capability: 'fs.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    return readFile(context.db, {
      namespace: input.ns,
      path: input.path,
      ...(input.version === undefined ? {} : { version: input.version }),
    });
  },
});

export const fsHistorySyscall = defineSyscall({
  name: 'fs history',
  summary: 'The versions of a file, newest first, removals included',
  input: z.object({ ns: namespaceSchema, path: filePath }).strict(),
  output: z.array(fileVersionSchema),
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
