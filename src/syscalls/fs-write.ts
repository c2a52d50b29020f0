/** fs write, fs rm, fs import, fs export: changing the agent file system, and moving trees to and from the host. */
import { z } from 'zod';
import { encodeContent } from '../fs/content.js';
import { exportTree } from '../fs/export-tree.js';
import { importTree } from '../fs/import-tree.js';
import { removeFile, writeFile } from '../fs/write-file.js';
import {
  exportReportSchema,
  fileVersionSchema,
  importReportSchema,
  namespaceSchema,
  writtenFileSchema,
} from './fs-schemas.js';
import { defineSyscall } from './syscall.js';

const filePath = z.string().min(1).describe('an absolute path such as /notes/plan.md');

const writeInput = z
  .object({
    ns: namespaceSchema,
    path: filePath,
    content: z.string().describe('the content: text, or base64 with encoding base64'),
    encoding: z.enum(['utf8', 'base64']).default('utf8').describe('how content is written'),
  })
  .strict();

/** The bytes a write input stands for. */
function bytesOf(input: z.output<typeof writeInput>): string | Buffer {
  return input.encoding === 'base64' ? Buffer.from(input.content, 'base64') : input.content;
}

export const fsWriteSyscall = defineSyscall({
  name: 'fs write',
  summary:
    'Write a file: a new version of the path (none when the content is the latest already); text or binary, decided by the bytes',
  input: writeInput,
  output: writtenFileSchema,
  capability: 'fs.write',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: ['invalid_input', 'conflict', 'limit_exceeded'],
  // The audit log records what was written by size and hash, not the content itself.
  auditInput(input) {
    const { content: _content, ...rest } = input;
    const encoded = encodeContent(bytesOf(input));
    return { ...rest, size: encoded.size, sha256: encoded.sha256 };
  },
  async handler(context, input, caller) {
    return writeFile(context.db, {
      namespace: input.ns,
      path: input.path,
      content: bytesOf(input),
      authorPid: caller.pid ?? null,
      maxBytes: context.fileSystem.maxFileBytes,
    });
  },
});

export const fsRemoveSyscall = defineSyscall({
  name: 'fs rm',
  summary: 'Remove a file: a tombstone version; its history stays readable',
  input: z.object({ ns: namespaceSchema, path: filePath }).strict(),
  output: fileVersionSchema,
  capability: 'fs.write',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: ['invalid_input', 'not_found'],
  async handler(context, input, caller) {
    return removeFile(context.db, { namespace: input.ns, path: input.path, authorPid: caller.pid ?? null });
  },
});

export const fsImportSyscall = defineSyscall({
  name: 'fs import',
  summary:
    'Import a host directory into a namespace, all or nothing (symbolic links are not followed; unchanged files add no version)',
  input: z
    .object({
      ns: namespaceSchema,
      directory: z.string().min(1).describe('the host directory to read'),
      path: z.string().default('/').describe('where in the namespace its files go (default /)'),
    })
    .strict(),
  output: importReportSchema,
  capability: 'fs.import',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: ['invalid_input', 'not_found', 'conflict', 'limit_exceeded'],
  async handler(context, input, caller) {
    return importTree(context.db, {
      namespace: input.ns,
      directory: input.directory,
      path: input.path,
      authorPid: caller.pid ?? null,
      maxBytes: context.fileSystem.maxFileBytes,
    });
  },
});

export const fsExportSyscall = defineSyscall({
  name: 'fs export',
  summary:
    'Export the latest files of a namespace (or of --path) to a new or empty host directory, all or nothing',
  input: z
    .object({
      ns: namespaceSchema,
      directory: z.string().min(1).describe('the host directory to create (or an empty one)'),
      path: z.string().default('/').describe('the subtree to export (default /)'),
    })
    .strict(),
  output: exportReportSchema,
  capability: 'fs.export',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: ['invalid_input', 'not_found', 'conflict', 'forbidden'],
  async handler(context, input) {
    return exportTree(context.db, { namespace: input.ns, directory: input.directory, path: input.path });
  },
});
