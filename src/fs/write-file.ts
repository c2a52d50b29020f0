/**
 * Writing and removing files. Each write adds a version of its path (unless the content
 * equals the latest version's, which is then returned as is); a removal adds a tombstone
 * version, so every earlier version stays readable. Both create the namespace at need.
 */

import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, ensureNamespace, requireNamespace } from '../trust/namespaces.js';
import { checkFileSize, encodeContent, maxFileBytesOf } from './content.js';
import type { FileVersion } from './file-version.js';
import { normaliseFilePath, parentPaths } from './paths.js';

/** What to write. */
export interface WriteFileInput {
  namespace: string;
  /** An absolute path such as "/notes/plan.md" ("notes/plan.md" is taken as that too). */
  path: string;
  /** Text, or bytes (stored as text when they are UTF-8 without NUL, else as binary). */
  content: string | Uint8Array;
  /** The process writing; omitted or null for a user. */
  authorPid?: number | null;
  /** The size limit; default AOS_FS_MAX_FILE_BYTES, else 10 MiB. */
  maxBytes?: number;
}

/** The version a write produced. */
export interface WrittenFile extends FileVersion {
  /** False when the content equalled the latest version's: nothing was added. */
  created: boolean;
}

interface WriteRow {
  version: number;
  author_pid: number | null;
  created_at: Date | string;
  created: boolean;
}

/**
 * Writes a new version of `path` and returns it; writing the latest content again adds
 * no version (created: false). Errors: invalid_input (path, namespace), limit_exceeded
 * (size), conflict (the path or a parent is in use as a directory or a file).
 * Safe inside the caller's transaction.
 */
export async function writeFile(db: Queryable, input: WriteFileInput): Promise<WrittenFile> {
  const namespace = checkNamespaceName(input.namespace);
  const path = normaliseFilePath(input.path);
  const encoded = encodeContent(input.content);
  checkFileSize(path, encoded.size, maxFileBytesOf(input.maxBytes));
  await ensureNamespace(db, namespace);
  const authorPid = input.authorPid ?? null;
  const result = await db.query<WriteRow>(
    'select version, author_pid, created_at, created from aos.write_file($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [
      namespace,
      path,
      parentPaths(path),
      encoded.kind,
      encoded.text,
      encoded.kind === 'binary' ? encoded.bytes : null,
      encoded.size,
      encoded.sha256,
      authorPid,
    ],
  );
  const row = result.rows[0]!;
  return {
    namespace,
    path,
    version: Number(row.version),
    kind: encoded.kind,
    size: encoded.size,
    sha256: encoded.sha256,
    authorPid: row.author_pid === null ? null : Number(row.author_pid),
    createdAt: new Date(row.created_at).toISOString(),
    created: row.created,
  };
}

/** What to remove. */
export interface RemoveFileInput {
  namespace: string;
  path: string;
  authorPid?: number | null;
}

/**
 * Removes a file: adds a tombstone version (kind "removed") and returns it; earlier
 * versions stay readable. `not_found` when the namespace or a live file at `path` does not exist.
 */
export async function removeFile(db: Queryable, input: RemoveFileInput): Promise<FileVersion> {
  const namespace = checkNamespaceName(input.namespace);
  const path = normaliseFilePath(input.path);
  await requireNamespace(db, namespace);
  const authorPid = input.authorPid ?? null;
  const result = await db.query<WriteRow>(
    'select version, author_pid, created_at, created from aos.write_file($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [namespace, path, parentPaths(path), 'removed', null, null, 0, null, authorPid],
  );
  const row = result.rows[0]!;
  return {
    namespace,
    path,
    version: Number(row.version),
    kind: 'removed',
    size: 0,
    sha256: null,
    authorPid,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
