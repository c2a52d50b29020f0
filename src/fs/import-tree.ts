/**
 * Importing a host directory into a namespace, all or nothing: the tree is walked, every
 * name checked and every file read first, then every file is written in one transaction.
 * Symbolic links are not followed (they are reported as skipped), nor are devices,
 * sockets or pipes: directories and files are opened without following links, relative
 * to their directory's handle (on Linux), files without blocking, and checked with fstat.
 */
import type { Dirent } from 'node:fs';
import { type FileHandle, lstat, readdir } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { AosError } from '../errors.js';
import type { Db } from '../storage/db.js';
import { checkNamespaceName } from '../trust/namespaces.js';
import { maxFileBytesOf } from './content.js';
import {
  directoryListingPath,
  NotRegularFileError,
  openDirectory,
  pathInside,
  readRegularFile,
} from './host-files.js';
import { normaliseDirectoryPath, normaliseFilePath } from './paths.js';
import { type WrittenFile, writeFile } from './write-file.js';

/** What to import. */
export interface ImportTreeInput {
  namespace: string;
  /** The host directory to read. */
  directory: string;
  /** Where in the namespace the directory's files go; default "/". */
  path?: string;
  authorPid?: number | null;
  /** The size limit per file; default AOS_FS_MAX_FILE_BYTES, else 10 MiB. */
  maxBytes?: number;
}

/** One file written by an import. */
export interface ImportedFile extends WrittenFile {
  /** The host file it came from. */
  source: string;
}

/** Something the import left out, and why. */
export interface SkippedEntry {
  source: string;
  reason: string;
}

/** What an import wrote. */
export interface ImportReport {
  namespace: string;
  directory: string;
  /** Every file, in path order; `created` is false where the content was already the latest version. */
  files: ImportedFile[];
  skipped: SkippedEntry[];
  /** Versions added (files whose content changed or was new). */
  created: number;
  unchanged: number;
}

/** A host file read for an import: where it came from, where it goes, its bytes. */
export interface HostFile {
  source: string;
  path: string;
  content: Buffer;
}

/** A host directory read for an import (no database involved): its files and what was left out. */
export interface HostTree {
  directory: string;
  files: HostFile[];
  skipped: SkippedEntry[];
}

/**
 * Reads every regular file under `directory` for an import to `path` (default /), without
 * following links and never a non-regular file (host-files.ts). Errors: not_found (no such
 * directory), invalid_input (a name that is not a valid path), limit_exceeded (a file over
 * the size limit). The CLI face calls it; syscalls never read host files.
 */
export async function readHostTree(input: {
  directory: string;
  path?: string;
  maxBytes?: number;
}): Promise<HostTree> {
  const mount = normaliseDirectoryPath(input.path ?? '/');
  const directory = resolve(input.directory);
  const maxBytes = maxFileBytesOf(input.maxBytes);
  const found = await lstat(directory).catch(() => undefined);
  if (found === undefined || !found.isDirectory()) {
    throw new AosError('not_found', `${directory} is not a directory`, {
      hint: found?.isSymbolicLink()
        ? 'give the directory itself: links are not followed'
        : 'give an existing directory',
    });
  }
  const files: HostFile[] = [];
  const skipped: SkippedEntry[] = [];
  const seen = new Map<string, string>();
  for await (const found of walk(directory, directory)) {
    const { entry, source } = found;
    if (found.skipped !== undefined) {
      skipped.push({ source, reason: found.skipped });
      continue;
    }
    if (entry.isSymbolicLink()) {
      skipped.push({ source, reason: 'symbolic link (not followed)' });
      continue;
    }
    if (!entry.isFile()) {
      skipped.push({ source, reason: 'not a regular file' });
      continue;
    }
    const path = pathOf(directory, source, mount);
    const clash = seen.get(path);
    if (clash !== undefined) {
      throw new AosError('invalid_input', `${clash} and ${source} would both be ${path}`, {
        hint: 'their names differ only in Unicode normalisation; rename one',
      });
    }
    let content: Buffer;
    try {
      content = await readRegularFile(found.open, source, maxBytes);
    } catch (error) {
      if (!(error instanceof NotRegularFileError)) throw error;
      skipped.push({ source, reason: error.reason });
      continue;
    }
    seen.set(path, source);
    files.push({ source, path, content });
  }
  return { directory, files, skipped };
}

/**
 * Writes files into a namespace (created at need) in one transaction: all or nothing.
 * Errors: limit_exceeded (a file over the size limit), conflict (a path in use as the other
 * of file/directory), invalid_input (a bad path).
 */
export async function writeFiles(
  db: Db,
  input: {
    namespace: string;
    files: readonly { path: string; content: string | Buffer }[];
    authorPid?: number | null;
    maxBytes?: number;
  },
): Promise<WrittenFile[]> {
  const namespace = checkNamespaceName(input.namespace);
  const maxBytes = maxFileBytesOf(input.maxBytes);
  return db.transaction(async (tx) => {
    const written: WrittenFile[] = [];
    for (const file of input.files) {
      written.push(
        await writeFile(tx, {
          namespace,
          path: file.path,
          content: file.content,
          authorPid: input.authorPid ?? null,
          maxBytes,
        }),
      );
    }
    return written;
  });
}

/**
 * Imports every regular file under `directory` into the namespace (created at need):
 * readHostTree, then writeFiles. Errors (nothing is written): as for those two.
 */
export async function importTree(db: Db, input: ImportTreeInput): Promise<ImportReport> {
  const namespace = checkNamespaceName(input.namespace);
  // Every file is read first, before the transaction: a slow or hostile file cannot hold it open.
  const tree = await readHostTree(input);
  const written = await writeFiles(db, { ...input, namespace, files: tree.files });
  const files = written.map((file, index) => ({ ...file, source: tree.files[index]!.source }));
  const created = files.filter((file) => file.created).length;
  return {
    namespace,
    directory: tree.directory,
    files,
    skipped: tree.skipped,
    created,
    unchanged: files.length - created,
  };
}

interface WalkedEntry {
  entry: Dirent;
  /** The host path, for messages and the report. */
  source: string;
  /** The path to open it by: inside its directory's handle where the platform allows. */
  open: string;
  /** Why it was left out, when it was found to be no directory after all. */
  skipped?: string;
}

/**
 * Every entry below `directory` (opened as `open`), depth first, names in byte order;
 * directories are entered through handles opened without following links.
 */
async function* walk(directory: string, open: string): AsyncGenerator<WalkedEntry> {
  let handle: FileHandle;
  try {
    handle = await openDirectory(open);
  } catch (error) {
    if (!(error instanceof NotRegularFileError) || directory === open) throw error;
    return;
  }
  try {
    const entries = await readdir(directoryListingPath(handle, open), { withFileTypes: true });
    entries.sort((left, right) => Buffer.compare(Buffer.from(left.name), Buffer.from(right.name)));
    for (const entry of entries) {
      const source = join(directory, entry.name);
      const inside = pathInside(handle, open, entry.name);
      if (entry.isDirectory()) {
        try {
          await (await openDirectory(inside)).close();
        } catch (error) {
          if (!(error instanceof NotRegularFileError)) throw error;
          yield { entry, source, open: inside, skipped: error.reason };
          continue;
        }
        yield* walk(source, inside);
      } else yield { entry, source, open: inside };
    }
  } finally {
    await handle.close();
  }
}

function pathOf(root: string, source: string, mount: string): string {
  const relativePath = relative(root, source).split(sep).join('/');
  if (relativePath.includes('\ufffd')) {
    throw new AosError('invalid_input', `the name of ${source} is not valid UTF-8`, {
      hint: 'rename the file, or import a directory without it',
    });
  }
  try {
    return normaliseFilePath(`${mount === '/' ? '' : mount}/${relativePath}`);
  } catch (error) {
    const reason = error instanceof AosError ? error.message : String(error);
    throw new AosError('invalid_input', `cannot import ${source}: ${reason}`, {
      hint: 'rename the file, or import a directory without it; nothing was imported',
    });
  }
}
