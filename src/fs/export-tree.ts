/**
 * Exporting a namespace's tree (or a subtree) to a host directory, all or nothing: the
 * files are written into a fresh staging directory beside the target, which is renamed
 * to the target only when every file is written. The target must be new or empty, and
 * no file is ever written outside it (each destination is checked, and opened without
 * following symbolic links).
 */
import { constants } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, requireNamespace } from '../trust/namespaces.js';
import type { ContentKind } from './content.js';
import { storedText } from './file-version.js';
import { listFiles } from './list-files.js';
import { normaliseDirectoryPath, normaliseFilePath } from './paths.js';

/** What to export. */
export interface ExportTreeInput {
  namespace: string;
  /** The host directory to create (or an empty one to fill). */
  directory: string;
  /** The subtree to export; default "/" (everything). */
  path?: string;
}

/** One file written to the host. */
export interface ExportedFile {
  path: string;
  /** Where it was written on the host (inside the target directory). */
  target: string;
  version: number;
  kind: ContentKind;
  size: number;
}

/** What an export wrote. */
export interface ExportReport {
  namespace: string;
  directory: string;
  files: ExportedFile[];
  bytes: number;
}

/** One file of a namespace's subtree, read for an export: its path below the subtree, and its bytes. */
export interface TreeFile {
  path: string;
  /** Its path relative to the exported subtree, starting with "/". */
  relative: string;
  version: number;
  kind: ContentKind;
  content: Buffer;
}

/** The latest version of every file under `path` (default /); `not_found` for an unknown namespace or path. */
export async function readTree(
  db: Queryable,
  input: { namespace: string; path?: string },
): Promise<TreeFile[]> {
  const namespace = checkNamespaceName(input.namespace);
  const root = normaliseDirectoryPath(input.path ?? '/');
  await requireNamespace(db, namespace);
  const entries = await listFiles(db, { namespace, path: root, recursive: true });
  const files: TreeFile[] = [];
  for (const entry of entries) {
    const relative =
      entry.path === root
        ? entry.path.slice(entry.path.lastIndexOf('/'))
        : entry.path.slice(root === '/' ? 0 : root.length);
    const content = await db.query<{ content: string | null; data: Uint8Array | null; size: number }>(
      'select content, data, size from aos.files where namespace = $1 and path = $2 and version = $3',
      [namespace, entry.path, entry.version],
    );
    const row = content.rows[0]!;
    const bytes =
      row.data === null
        ? Buffer.from(storedText(row.content ?? '', Number(row.size)), 'utf8')
        : Buffer.from(row.data);
    files.push({ path: entry.path, relative, version: entry.version!, kind: entry.kind!, content: bytes });
  }
  return files;
}

/**
 * Writes `files` into `directory` on the host (relative paths kept, directories created), all
 * or nothing through a staging directory. `conflict` when the directory exists and is not
 * empty; `forbidden` for a path that would fall outside it. The CLI face calls it.
 */
export async function writeHostTree(
  target: string,
  namespace: string,
  files: readonly TreeFile[],
): Promise<ExportReport> {
  const directory = resolve(target);
  await checkTarget(directory);
  await mkdir(dirname(directory), { recursive: true });
  const staging = await mkdtemp(join(dirname(directory), `.${basename(directory)}.aos-export-`));
  try {
    const written: ExportedFile[] = [];
    for (const file of files) {
      const path = hostPathOf(staging, file.relative);
      await mkdir(dirname(path), { recursive: true });
      // O_NOFOLLOW and O_EXCL: never through a symbolic link, never over an existing file.
      const handle = await open(
        path,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o644,
      );
      try {
        await handle.writeFile(file.content);
      } finally {
        await handle.close();
      }
      written.push({
        path: file.path,
        target: join(directory, file.relative),
        version: file.version,
        kind: file.kind,
        size: file.content.length,
      });
    }
    // rename(2) replaces an empty directory atomically.
    await rename(staging, directory);
    return { namespace, directory, files: written, bytes: written.reduce((sum, file) => sum + file.size, 0) };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Writes the latest version of every file under `path` to `directory`: readTree, then
 * writeHostTree. `conflict` when the directory exists and is not empty, `not_found` for an
 * unknown namespace or path; on any failure nothing is left.
 */
export async function exportTree(db: Queryable, input: ExportTreeInput): Promise<ExportReport> {
  const files = await readTree(db, input);
  return writeHostTree(input.directory, checkNamespaceName(input.namespace), files);
}

/** Refuses a target that exists and is not an empty directory. */
async function checkTarget(directory: string): Promise<void> {
  const found = await lstat(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found === undefined) return;
  if (!found.isDirectory()) {
    throw new AosError('conflict', `${directory} exists and is not a directory`, {
      hint: 'export to a new directory',
    });
  }
  if ((await readdir(directory)).length > 0) {
    throw new AosError('conflict', `${directory} is not empty`, {
      hint: 'export to a new or empty directory (an export never overwrites files)',
    });
  }
}

/**
 * The host path of a file's path inside `root`; `forbidden` when it would fall outside
 * `root` (a path that escaped validation is refused, not written).
 */
export function hostPathOf(root: string, path: string): string {
  const base = resolve(root);
  let checked: string;
  try {
    checked = normaliseFilePath(path);
  } catch {
    checked = '';
  }
  const target = resolve(base, `.${checked}`);
  if (checked === '' || !target.startsWith(`${base}${sep}`)) {
    throw new AosError('forbidden', `refused to write ${JSON.stringify(path)}: it would be outside ${base}`, {
      hint: 'files are only written inside the target directory',
    });
  }
  return target;
}
