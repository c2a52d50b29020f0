/**
 * The file-system commands whose CLI face differs from the syscall's: fs cat writes the
 * bytes as they are, fs write reads a host file or standard input, fs export and fs import
 * write and read host directories. The others (ls, rm, history, grep, diff) come from the table.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { z } from 'zod';
import { AosError } from '../../errors.js';
import { checkFileSize, formatBytes, maxFileBytesOf } from '../../fs/content.js';
import { writeHostTree } from '../../fs/export-tree.js';
import { contentBytes } from '../../fs/file-version.js';
import { readStreamBounded } from '../../fs/host-files.js';
import { readHostTree } from '../../fs/import-tree.js';
import { fsCatSyscall } from '../../syscalls/fs-read.js';
import {
  exportReportSchema,
  importReportSchema,
  namespaceSchema,
  writtenFileSchema,
} from '../../syscalls/fs-schemas.js';
import { fsExportSyscall, fsImportSyscall, fsWriteSyscall } from '../../syscalls/fs-write.js';
import { defineCommand } from '../command.js';
import { plural } from '../text-formats.js';

export const fsCatCommand = defineCommand({
  name: fsCatSyscall.name,
  summary: fsCatSyscall.summary,
  input: fsCatSyscall.input,
  positional: fsCatSyscall.cli!.positional,
  output: fsCatSyscall.output,
  errors: fsCatSyscall.errors,
  examples: fsCatSyscall.cli!.examples,
  async run(context, input) {
    const kernel = await context.kernel();
    const file = await kernel.call('fs cat', input);
    // The bytes exactly as stored: no newline added, binary files byte for byte.
    if (!context.json) process.stdout.write(contentBytes(file));
    return file;
  },
  format: () => '',
});

/**
 * Reads the content to write: from FILE, or from standard input when FILE is absent or
 * "-"; at most the size limit, so a huge input (or /dev/zero) fails fast `limit_exceeded`.
 */
async function contentToWrite(file: string | undefined, target: string): Promise<Buffer> {
  const maxBytes = maxFileBytesOf();
  if (file !== undefined && file !== '-') {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      const { code, message } = error as NodeJS.ErrnoException;
      if (code === 'ENOENT') {
        throw new AosError('not_found', `no file ${file} to read the content from`, {
          hint: 'give an existing file, or pipe the content: echo hi | aos fs write --ns NS /path',
        });
      }
      throw new AosError('invalid_input', `cannot read ${file}: ${message}`, {
        hint: 'give a readable file, or pipe the content on standard input',
      });
    }
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) {
        throw new AosError('invalid_input', `cannot read ${file}: it is a directory`, {
          hint: 'give a file; to import a directory: aos fs import --ns NS DIRECTORY',
        });
      }
      if (stat.isFile()) checkFileSize(target, stat.size, maxBytes);
      return await readStreamBounded(handle.createReadStream({ autoClose: false }), target, maxBytes);
    } finally {
      await handle.close();
    }
  }
  if (process.stdin.isTTY) {
    throw new AosError(
      'invalid_input',
      'fs write: no content: give a FILE, or pipe the content on standard input',
      {
        hint: 'e.g. aos fs write --ns process:12 /notes/plan.md plan.md, or: echo hi | aos fs write --ns process:12 /notes/hi.txt',
      },
    );
  }
  return readStreamBounded(process.stdin, target, maxBytes);
}

export const fsWriteCommand = defineCommand({
  name: fsWriteSyscall.name,
  summary: `${fsWriteSyscall.summary}; the content comes from FILE, or from standard input without FILE (or with -)`,
  input: z
    .object({
      ns: namespaceSchema,
      path: z.string().min(1).describe('the path in the namespace, such as /notes/plan.md'),
      file: z
        .string()
        .optional()
        .describe('a host file with the content (default: standard input; - is standard input too)'),
    })
    .strict(),
  positional: ['path', 'file'],
  output: writtenFileSchema,
  errors: [...fsWriteSyscall.errors, 'not_found'],
  examples: [
    'aos fs write --ns process:12 /notes/plan.md plan.md',
    'echo "remember the milk" | aos fs write --ns owner:local /notes/todo.txt',
    'aos fs write --ns agent:researcher /data/logo.png logo.png --json',
  ],
  async run(context, input) {
    const bytes = await contentToWrite(input.file, input.path);
    const kernel = await context.kernel();
    return kernel.call('fs write', {
      ns: input.ns,
      path: input.path,
      content: bytes.toString('base64'),
      encoding: 'base64',
    });
  },
  format: (file) =>
    file.created
      ? `wrote ${file.path} version ${file.version} (${file.kind}, ${formatBytes(file.size)}) in ${file.namespace}`
      : `unchanged: ${file.path} version ${file.version} already has this content (${formatBytes(file.size)})`,
});

export const fsExportCommand = defineCommand({
  name: fsExportSyscall.name,
  summary:
    'Export the latest files of a namespace (or of --path) to a new or empty host directory, all or nothing',
  input: z
    .object({
      ns: namespaceSchema,
      directory: z.string().min(1).describe('the host directory to create (or an empty one)'),
      path: z.string().default('/').describe('the subtree to export (default /)'),
    })
    .strict(),
  positional: ['directory'],
  output: exportReportSchema,
  errors: [...fsExportSyscall.errors, 'conflict', 'forbidden'],
  examples: [
    'aos fs export --ns process:12 ./process-12-files',
    'aos fs export --ns agent:researcher ./notes --path /notes --json',
  ],
  async run(context, input) {
    const kernel = await context.kernel();
    const tree = await kernel.call('fs export', { ns: input.ns, path: input.path });
    // The host directory is written here, by the CLI face, never by the syscall.
    return writeHostTree(
      input.directory,
      tree.namespace,
      tree.files.map((file) => ({ ...file, content: Buffer.from(file.content, 'base64') })),
    );
  },
  format: (report) =>
    [
      `exported ${plural(report.files.length, 'file')} (${formatBytes(report.bytes)}) from ${report.namespace} to ${report.directory}`,
      ...report.files.map((file) => `  ${file.path} (version ${file.version}) -> ${file.target}`),
    ].join('\n'),
});

export const fsImportCommand = defineCommand({
  name: fsImportSyscall.name,
  summary:
    'Import a host directory into a namespace, all or nothing (symbolic links are not followed; unchanged files add no version)',
  input: z
    .object({
      ns: namespaceSchema,
      directory: z.string().min(1).describe('the host directory to read'),
      path: z.string().default('/').describe('where in the namespace its files go (default /)'),
    })
    .strict(),
  positional: ['directory'],
  output: importReportSchema,
  errors: fsImportSyscall.errors,
  examples: [
    'aos fs import --ns agent:researcher ./reference',
    'aos fs import --ns owner:local ./docs --path /docs --json',
  ],
  async run(context, input) {
    // Every host file is read here, by the CLI face (no links followed, regular files only).
    const tree = await readHostTree({
      directory: input.directory,
      path: input.path,
      maxBytes: maxFileBytesOf(),
    });
    const kernel = await context.kernel();
    const written = await kernel.call('fs import', {
      ns: input.ns,
      files: tree.files.map((file) => ({
        path: file.path,
        content: file.content.toString('base64'),
        encoding: 'base64' as const,
      })),
    });
    return {
      ...written,
      directory: tree.directory,
      files: written.files.map((file, index) => ({ ...file, source: tree.files[index]!.source })),
      skipped: tree.skipped,
    };
  },
  format: (report) =>
    [
      `imported ${plural(report.files.length, 'file')} into ${report.namespace}: ${plural(report.created, 'new version')}, ${report.unchanged} unchanged`,
      ...report.files.map(
        (file) =>
          `  ${file.source} -> ${file.path} (version ${file.version}${file.created ? '' : ', unchanged'})`,
      ),
      ...report.skipped.map((entry) => `  skipped ${entry.source}: ${entry.reason}`),
    ].join('\n'),
});
