/** fs write, fs rm, fs import, fs export: changing the agent file system, and moving trees in and out (the CLI face reads and writes the host directories). */
import { z } from 'zod';
import { encodeContent } from '../fs/content.js';
import { readTree } from '../fs/export-tree.js';
import { writeFiles } from '../fs/import-tree.js';
import { removeFile, writeFile } from '../fs/write-file.js';
import { fileVersionSchema, namespaceSchema, writtenFileSchema } from './fs-schemas.js';
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
function bytesOf(input: { content: string; encoding: 'utf8' | 'base64' }): string | Buffer {
  return input.encoding === 'base64' ? Buffer.from(input.content, 'base64') : input.content;
}

export const fsWriteSyscall = defineSyscall({
  name: 'fs write',
  summary:
    'Write a file: a new version of the path (none when the content is the latest already); text or binary, decided by the bytes',
  input: writeInput,
  output: writtenFileSchema,
  tool: {
    description:
      "Write a file: its content becomes the new version of the path (earlier versions stay in its history). Writing the content it already has adds no version. The namespace (ns) is this process's own (process:PID) unless it names its agent's (agent:NAME) or its owner's (owner:NAME).",
    fields: ['ns', 'path', 'content', 'encoding'],
    given: (caller) => ({ ns: caller.namespaces[0]! }),
    // Writing the content a path already has adds no version: a call re-run after a crash leaves the same files.
    annotations: { idempotent: true },
    renamed: { namespace: 'ns' },
    text: (file) =>
      JSON.stringify({ path: file.path, version: file.version, size: file.size, created: file.created }),
  },
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
  cli: {
    positional: ['path'],
    examples: ['aos fs rm --ns process:12 /notes/old.md', 'aos fs rm --ns process:12 /notes/old.md --json'],
  },
  tool: {
    description:
      "Remove a file. Its history stays: earlier versions can still be read with fs_cat and version. The namespace (ns) is this process's own (process:PID) unless it names its agent's (agent:NAME) or its owner's (owner:NAME).",
    fields: ['ns', 'path'],
    given: (caller) => ({ ns: caller.namespaces[0]! }),
    // Not idempotent: a second removal would be not_found, so a crash during it is an unknown outcome.
    annotations: { destructive: true },
    aliases: ['fs_remove'],
    renamed: { namespace: 'ns' },
    text: (removed) => JSON.stringify({ path: removed.path, version: removed.version, removed: true }),
  },
  capability: 'fs.write',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: ['invalid_input', 'not_found'],
  async handler(context, input, caller) {
    return removeFile(context.db, { namespace: input.ns, path: input.path, authorPid: caller.pid ?? null });
  },
});

/** A file as a syscall carries it: text, or bytes in base64. */
const fileInput = z
  .object({
    path: filePath,
    content: z.string().describe('the content: text, or base64 with encoding base64'),
    encoding: z.enum(['utf8', 'base64']).default('utf8'),
  })
  .strict();

export const fsImportSyscall = defineSyscall({
  name: 'fs import',
  summary:
    'Import files into a namespace, all or nothing (aos fs import reads them from a host directory; unchanged files add no version)',
  input: z
    .object({
      ns: namespaceSchema,
      files: z.array(fileInput).describe('the files to write, each a path and its content'),
    })
    .strict(),
  output: z.object({
    namespace: z.string(),
    files: z.array(writtenFileSchema),
    created: z.number().int(),
    unchanged: z.number().int(),
  }),
  capability: 'fs.import',
  reaches: (input) => ({ namespaces: [input.ns] }),
  errors: ['invalid_input', 'not_found', 'conflict', 'limit_exceeded'],
  // The audit log records each file by size and hash, not its content.
  auditInput: (input) => ({
    ns: input.ns,
    files: input.files.map((file) => {
      const encoded = encodeContent(bytesOf(file));
      return { path: file.path, size: encoded.size, sha256: encoded.sha256 };
    }),
  }),
  async handler(context, input, caller) {
    const files = await writeFiles(context.db, {
      namespace: input.ns,
      files: input.files.map((file) => ({ path: file.path, content: bytesOf(file) })),
      authorPid: caller.pid ?? null,
      maxBytes: context.fileSystem.maxFileBytes,
    });
    const created = files.filter((file) => file.created).length;
    return { namespace: input.ns, files, created, unchanged: files.length - created };
  },
});

export const fsExportSyscall = defineSyscall({
  name: 'fs export',
  summary:
    'The latest files of a namespace (or of --path), with their content (aos fs export writes them to a new or empty host directory, all or nothing)',
  input: z
    .object({
      ns: namespaceSchema,
      path: z.string().default('/').describe('the subtree to export (default /)'),
    })
    .strict(),
  output: z.object({
    namespace: z.string(),
    files: z.array(
      z.object({
        path: z.string(),
        relative: z.string().describe('its path below the exported subtree'),
        version: z.number().int(),
        kind: z.enum(['text', 'binary']),
        size: z.number().int(),
        content: z.string().describe('the bytes in base64'),
        encoding: z.literal('base64'),
      }),
    ),
  }),
  capability: 'fs.export',
  reaches: (input) => ({ namespaces: [input.ns] }),
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    const files = await readTree(context.db, { namespace: input.ns, path: input.path });
    return {
      namespace: input.ns,
      files: files.map((file) => ({
        path: file.path,
        relative: file.relative,
        version: file.version,
        kind: file.kind,
        size: file.content.length,
        content: file.content.toString('base64'),
        encoding: 'base64' as const,
      })),
    };
  },
});
