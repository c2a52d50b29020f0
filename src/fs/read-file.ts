/**
 * Reading files: the latest version of a path or a given one, and a path's history.
 * An unknown namespace, a path never written, a missing version and a removed file
 * are all `not_found`, each with a hint that says where to look.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, requireNamespace } from '../trust/namespaces.js';
import {
  type FileContent,
  type FileRow,
  type FileVersion,
  toFileContent,
  toFileVersion,
  versionColumns,
} from './file-version.js';
import { normaliseFilePath } from './paths.js';

/** What to read. */
export interface ReadFileInput {
  namespace: string;
  path: string;
  /** A version number; default the latest. */
  version?: number;
}

/**
 * Reads a version of a file (default the latest) with its content: text as is
 * (encoding utf8), binary as base64. `not_found` when there is no such namespace,
 * file or version, or when that version is a removal.
 */
export async function readFile(db: Queryable, input: ReadFileInput): Promise<FileContent> {
  const namespace = checkNamespaceName(input.namespace);
  const path = normaliseFilePath(input.path);
  await requireNamespace(db, namespace);
  const result = await db.query<FileRow>(
    `select ${versionColumns}, content, data from aos.files
      where namespace = $1 and path = $2
        and version = coalesce($3::integer,
              (select version from aos.file_heads where namespace = $1 and path = $2))`,
    [namespace, path, input.version ?? null],
  );
  const row = result.rows[0];
  if (row === undefined) throw await missing(db, namespace, path, input.version);
  if (row.kind === 'removed') {
    const hint =
      row.version > 1
        ? `read the version before: aos fs cat --ns ${namespace} ${path} --version ${row.version - 1} (or see: aos fs history --ns ${namespace} ${path})`
        : `see: aos fs history --ns ${namespace} ${path}`;
    throw new AosError(
      'not_found',
      `${path} was removed (version ${row.version}) in namespace ${namespace}`,
      {
        hint,
      },
    );
  }
  return toFileContent(row);
}

/** The latest version number of a path (a removal included); `not_found` when it was never written. */
export async function latestVersion(db: Queryable, namespace: string, path: string): Promise<number> {
  const head = await db.query<{ version: number }>(
    'select version from aos.file_heads where namespace = $1 and path = $2',
    [namespace, path],
  );
  const latest = head.rows[0]?.version;
  if (latest === undefined) {
    throw new AosError('not_found', `no file ${path} in namespace ${namespace}`, {
      hint: `list the files with: aos fs ls --ns ${namespace} /`,
    });
  }
  return Number(latest);
}

/** The error for a version that is not there: no such file, or no such version of it. */
async function missing(db: Queryable, namespace: string, path: string, version: number | undefined) {
  let latest: number;
  try {
    latest = await latestVersion(db, namespace, path);
  } catch (error) {
    if (error instanceof AosError) return error;
    throw error;
  }
  return new AosError('not_found', `${path} has no version ${version} (the latest is ${latest})`, {
    hint: `see its versions with: aos fs history --ns ${namespace} ${path}`,
  });
}

/** A path and namespace. */
export interface FileHistoryInput {
  namespace: string;
  path: string;
}

/**
 * Every version of a path, newest first, removals included (kind "removed").
 * `not_found` when the namespace is unknown or the path was never written.
 */
export async function fileHistory(db: Queryable, input: FileHistoryInput): Promise<FileVersion[]> {
  const namespace = checkNamespaceName(input.namespace);
  const path = normaliseFilePath(input.path);
  await requireNamespace(db, namespace);
  const result = await db.query<FileRow>(
    `select ${versionColumns} from aos.files where namespace = $1 and path = $2 order by version desc`,
    [namespace, path],
  );
  if (result.rows.length === 0) throw await missing(db, namespace, path, undefined);
  return result.rows.map(toFileVersion);
}
