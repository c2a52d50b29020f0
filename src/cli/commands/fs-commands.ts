/** aos fs ls, cat, write, rm, history, grep, diff, export, import: the agent file system from the shell. */
import { type FileHandle, open } from 'node:fs/promises';
import { z } from 'zod';
import { AosError } from '../../errors.js';
import { checkFileSize, formatBytes, maxFileBytesOf } from '../../fs/content.js';
import { contentBytes } from '../../fs/file-version.js';
import { readStreamBounded } from '../../fs/host-files.js';
import {
  fsCatSyscall,
  fsDiffSyscall,
  fsGrepSyscall,
  fsHistorySyscall,
  fsListSyscall,
} from '../../syscalls/fs-read.js';
import { namespaceSchema, writtenFileSchema } from '../../syscalls/fs-schemas.js';
import {
  fsExportSyscall,
  fsImportSyscall,
  fsRemoveSyscall,
  fsWriteSyscall,
} from '../../syscalls/fs-write.js';
import { defineCommand, syscallCommand } from '../command.js';

/** "1 file", "2 files". */
function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Rows of cells as aligned columns. */
function columns(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  '),
    )
    .join('\n');
}

export const fsListCommand = syscallCommand(fsListSyscall, {
  positional: ['path'],
  examples: ['aos fs ls --ns process:12', 'aos fs ls --ns agent:researcher /notes --recursive --json'],
  format: (entries) =>
    entries.length === 0
      ? '(empty)'
      : columns([
          ['TYPE', 'KIND', 'VERSION', 'SIZE', 'UPDATED', 'PATH'],
          ...entries.map((entry) =>
            entry.type === 'directory'
              ? [
                  'dir',
                  '-',
                  '-',
                  `${plural(entry.files, 'file')}, ${formatBytes(entry.size)}`,
                  entry.updatedAt,
                  `${entry.path}/`,
                ]
              : [
                  'file',
                  entry.kind ?? '-',
                  String(entry.version),
                  formatBytes(entry.size),
                  entry.updatedAt,
                  entry.path,
                ],
          ),
        ]),
});

export const fsCatCommand = defineCommand({
  name: fsCatSyscall.name,
  summary: fsCatSyscall.summary,
  input: fsCatSyscall.input,
  positional: ['path'],
  output: fsCatSyscall.output,
  errors: fsCatSyscall.errors,
  examples: [
    'aos fs cat --ns process:12 /notes/plan.md',
    'aos fs cat --ns process:12 /notes/plan.md --version 2',
    'aos fs cat --ns agent:researcher /logo.png > logo.png',
    'aos fs cat --ns process:12 /notes/plan.md --json',
  ],
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

export const fsRemoveCommand = syscallCommand(fsRemoveSyscall, {
  positional: ['path'],
  examples: ['aos fs rm --ns process:12 /notes/old.md', 'aos fs rm --ns process:12 /notes/old.md --json'],
  format: (file) =>
    `removed ${file.path} (version ${file.version} is the removal; earlier versions stay: aos fs history --ns ${file.namespace} ${file.path})`,
});

export const fsHistoryCommand = syscallCommand(fsHistorySyscall, {
  positional: ['path'],
  examples: [
    'aos fs history --ns process:12 /notes/plan.md',
    'aos fs history --ns process:12 /notes/plan.md --json',
  ],
  format: (versions) =>
    columns([
      ['VERSION', 'KIND', 'SIZE', 'AUTHOR', 'CREATED', 'SHA256'],
      ...versions.map((each) => [
        String(each.version),
        each.kind,
        each.kind === 'removed' ? '-' : formatBytes(each.size),
        each.authorPid === null ? 'user' : `process ${each.authorPid}`,
        each.createdAt,
        each.sha256 === null ? '-' : each.sha256.slice(0, 16),
      ]),
    ]),
});

export const fsGrepCommand = syscallCommand(fsGrepSyscall, {
  positional: ['pattern', 'path'],
  examples: [
    'aos fs grep --ns process:12 TODO',
    "aos fs grep --ns agent:researcher '\\yerror\\y' /logs --ignore-case",
    'aos fs grep --ns process:12 "a.b" --fixed --json',
  ],
  format: (found) =>
    found.matches.length === 0
      ? 'no matches'
      : [
          ...found.matches.map((match) => `${match.path}:${match.line}: ${match.text}`),
          ...(found.truncated
            ? ['(more matches: raise --max-matches, or narrow the path or the pattern)']
            : []),
        ].join('\n'),
});

export const fsDiffCommand = syscallCommand(fsDiffSyscall, {
  positional: ['path'],
  examples: [
    'aos fs diff --ns process:12 /notes/plan.md',
    'aos fs diff --ns process:12 /notes/plan.md --from 1 --to 3',
    'aos fs diff --ns process:12 /notes/plan.md --json',
  ],
  format: (compared) =>
    compared.identical
      ? `versions ${compared.from?.version ?? 0} and ${compared.to.version} of ${compared.path} are identical`
      : compared.diff.replace(/\n$/, ''),
});

export const fsExportCommand = syscallCommand(fsExportSyscall, {
  positional: ['directory'],
  examples: [
    'aos fs export --ns process:12 ./process-12-files',
    'aos fs export --ns agent:researcher ./notes --path /notes --json',
  ],
  format: (report) =>
    [
      `exported ${plural(report.files.length, 'file')} (${formatBytes(report.bytes)}) from ${report.namespace} to ${report.directory}`,
      ...report.files.map((file) => `  ${file.path} (version ${file.version}) -> ${file.target}`),
    ].join('\n'),
});

export const fsImportCommand = syscallCommand(fsImportSyscall, {
  positional: ['directory'],
  examples: [
    'aos fs import --ns agent:researcher ./reference',
    'aos fs import --ns owner:local ./docs --path /docs --json',
  ],
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
