/**
 * Listing a directory of the agent file system: the live files (latest version not a
 * removal) and the directories they imply, one level deep or, with `recursive`, every
 * file below. Directories exist only as the prefixes of files' paths.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, requireNamespace } from '../trust/namespaces.js';
import type { ContentKind } from './content.js';
import type { FileRow } from './file-version.js';
import { normaliseDirectoryPath, subtreeRange } from './paths.js';

/** One line of a listing. */
export interface FileEntry {
  path: string;
  type: 'file' | 'directory';
  /** For a file: text or binary; null for a directory. */
  kind: ContentKind | null;
  /** For a file: its latest version; null for a directory. */
  version: number | null;
  /** Bytes: the file's, or the sum of the files under the directory. */
  size: number;
  /** Files under a directory (1 for a file). */
  files: number;
  /** When the file (or the newest file under the directory) was last written, ISO 8601. */
  updatedAt: string;
}

/** What to list. */
export interface ListFilesInput {
  namespace: string;
  /** A directory (default "/"), or a file, which then lists itself. */
  path?: string;
  /** Every file below, instead of one level. */
  recursive?: boolean;
}

/**
 * Lists a directory, sorted by path (byte order). `not_found` when the namespace is
 * unknown, or when `path` is neither a file nor a directory that holds files
 * (the root of a known namespace may be empty).
 */
export async function listFiles(db: Queryable, input: ListFilesInput): Promise<FileEntry[]> {
  const namespace = checkNamespaceName(input.namespace);
  const directory = normaliseDirectoryPath(input.path ?? '/');
  await requireNamespace(db, namespace);
  const { low, high } = subtreeRange(directory);
  const result = await db.query<FileRow>(
    `select f.path, f.version, f.kind, f.size, f.created_at
       from aos.file_heads h
       join aos.files f on f.namespace = h.namespace and f.path = h.path and f.version = h.version
      where h.namespace = $1 and h.kind <> 'removed'
        and (h.path = $2 or (h.path >= $3 and h.path < $4))
      order by f.path`,
    [namespace, directory, low, high],
  );
  const exact = result.rows.find((row) => row.path === directory);
  if (exact !== undefined) return [fileEntry(exact)];
  if (result.rows.length === 0 && directory !== '/') {
    throw new AosError('not_found', `no file or directory ${directory} in namespace ${namespace}`, {
      hint: `list the files with: aos fs ls --ns ${namespace} /`,
    });
  }
  if (input.recursive) return result.rows.map(fileEntry);
  const entries = new Map<string, FileEntry>();
  for (const row of result.rows) {
    const rest = row.path.slice(low.length);
    const slash = rest.indexOf('/');
    if (slash === -1) {
      entries.set(row.path, fileEntry(row));
      continue;
    }
    const path = `${low}${rest.slice(0, slash)}`;
    const entry = entries.get(path);
    const updatedAt = new Date(row.created_at).toISOString();
    if (entry === undefined) {
      entries.set(path, {
        path,
        type: 'directory',
        kind: null,
        version: null,
        size: Number(row.size),
        files: 1,
        updatedAt,
      });
    } else {
      entry.size += Number(row.size);
      entry.files += 1;
      if (updatedAt > entry.updatedAt) entry.updatedAt = updatedAt;
    }
  }
  // Sorted as the database sorts paths ("C" collation): by UTF-8 bytes.
  return [...entries.values()].sort((left, right) =>
    Buffer.compare(Buffer.from(left.path), Buffer.from(right.path)),
  );
}

function fileEntry(row: FileRow): FileEntry {
  return {
    path: row.path,
    type: 'file',
    kind: row.kind === 'binary' ? 'binary' : 'text',
    version: Number(row.version),
    size: Number(row.size),
    files: 1,
    updatedAt: new Date(row.created_at).toISOString(),
  };
}
