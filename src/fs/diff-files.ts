/**
 * The unified diff between two versions of a path (with the `diff` library). A removal,
 * or "version 0" (before the file existed), is an empty side shown as /dev/null.
 * Binary versions are compared by hash only, as git does: "Binary files ... differ".
 */
import { createTwoFilesPatch } from 'diff';
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, requireNamespace } from '../trust/namespaces.js';
import { type FileRow, type FileVersion, storedText, toFileVersion, versionColumns } from './file-version.js';
import { normaliseFilePath } from './paths.js';
import { latestVersion } from './read-file.js';

/** Which versions to compare. */
export interface DiffFilesInput {
  namespace: string;
  path: string;
  /** The older version; default the one before `to`. 0 is the empty file before version 1. */
  from?: number;
  /** The newer version; default the latest. */
  to?: number;
  /** Lines of context around each change; default 3. */
  context?: number;
}

/** A comparison of two versions. */
export interface FileDiff {
  namespace: string;
  path: string;
  /** The older side; null for version 0 (nothing). */
  from: FileVersion | null;
  to: FileVersion;
  /** True when either side is binary: `diff` then only says whether they differ. */
  binary: boolean;
  identical: boolean;
  /** The unified diff ("" when identical). */
  diff: string;
}

/**
 * Compares two versions of a path (default: the latest with the one before it).
 * `not_found` for an unknown namespace, path or version.
 */
export async function diffFiles(db: Queryable, input: DiffFilesInput): Promise<FileDiff> {
  const namespace = checkNamespaceName(input.namespace);
  const path = normaliseFilePath(input.path);
  await requireNamespace(db, namespace);
  const latest = await latestVersion(db, namespace, path);
  const to = input.to ?? latest;
  const from = input.from ?? to - 1;
  for (const version of [from, to]) {
    if (version < 0 || version > latest || (version === 0 && version === to)) {
      throw new AosError('not_found', `${path} has no version ${version} (versions 1 to ${latest})`, {
        hint: `see its versions with: aos fs history --ns ${namespace} ${path}`,
      });
    }
  }
  const rows = await db.query<FileRow>(
    `select ${versionColumns}, content from aos.files
      where namespace = $1 and path = $2 and version = any ($3::integer[])`,
    [namespace, path, [from, to]],
  );
  const older = rows.rows.find((row) => Number(row.version) === from);
  const newer = rows.rows.find((row) => Number(row.version) === to)!;
  const binary = older?.kind === 'binary' || newer.kind === 'binary';
  const identical = (older?.sha256 ?? null) === newer.sha256;
  const result = {
    namespace,
    path,
    from: older === undefined ? null : toFileVersion(older),
    to: toFileVersion(newer),
    binary,
    identical,
  };
  if (identical) return { ...result, diff: '' };
  const side = (row: FileRow | undefined) =>
    row === undefined || row.kind === 'removed' ? '/dev/null' : path;
  const label = (row: FileRow | undefined) => (row === undefined ? 'version 0' : `version ${row.version}`);
  if (binary) {
    return {
      ...result,
      diff: `Binary files ${side(older)} (${label(older)}) and ${side(newer)} (${label(newer)}) differ\n`,
    };
  }
  const diff = createTwoFilesPatch(
    side(older),
    side(newer),
    older === undefined ? '' : storedText(older.content ?? '', Number(older.size)),
    storedText(newer.content ?? '', Number(newer.size)),
    label(older),
    label(newer),
    {
      context: input.context ?? 3,
      headerOptions: { includeIndex: false, includeUnderline: false, includeFileHeaders: true },
    },
  );
  return { ...result, diff };
}
