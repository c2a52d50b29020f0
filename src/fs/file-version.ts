/**
 * A version of a file as the library returns it, and its database row. Every write of a
 * path adds a version (1, 2, ...); a removal adds a version of kind "removed" (a tombstone).
 */
import type { ContentKind } from './content.js';

/** What a version is: text, binary, or the tombstone of a removal. */
export type VersionKind = ContentKind | 'removed';

/** One version of a path, without its content. */
export interface FileVersion {
  namespace: string;
  path: string;
  version: number;
  kind: VersionKind;
  /** Bytes (UTF-8 bytes for text); 0 for a removal. */
  size: number;
  /** Hex SHA-256 of the bytes; null for a removal. */
  sha256: string | null;
  /** The process that wrote it; null for a user (CLI or library). */
  authorPid: number | null;
  /** ISO 8601. */
  createdAt: string;
}

/** A version with its content: text as is, binary as base64. */
export interface FileContent extends FileVersion {
  kind: ContentKind;
  /** The text (encoding utf8), or the bytes in base64 (encoding base64, for binary files). */
  content: string;
  encoding: 'utf8' | 'base64';
}

/** A row of aos.files (content columns optional: most queries leave them out). */
export interface FileRow {
  namespace: string;
  path: string;
  version: number;
  kind: VersionKind;
  content?: string | null;
  data?: Uint8Array | null;
  size: number | string;
  sha256: string | null;
  author_pid: number | string | null;
  created_at: Date | string;
}

/** The metadata columns of aos.files, for queries that leave the content out. */
export const versionColumns = 'namespace, path, version, kind, size, sha256, author_pid, created_at';

/** Maps a row to a FileVersion. */
export function toFileVersion(row: FileRow): FileVersion {
  return {
    namespace: row.namespace,
    path: row.path,
    version: Number(row.version),
    kind: row.kind,
    size: Number(row.size),
    sha256: row.sha256,
    authorPid: row.author_pid === null ? null : Number(row.author_pid),
    createdAt: new Date(row.created_at).toISOString(),
  };
}

/** Maps a row with its content columns to a FileContent (not for removals). */
export function toFileContent(row: FileRow): FileContent {
  const version = toFileVersion(row);
  if (row.kind === 'text') {
    return {
      ...version,
      kind: 'text',
      content: storedText(row.content ?? '', version.size),
      encoding: 'utf8',
    };
  }
  const bytes = Buffer.from(row.data ?? new Uint8Array());
  return { ...version, kind: 'binary', content: bytes.toString('base64'), encoding: 'base64' };
}

/** The bytes of a file's content, whichever its encoding. */
export function contentBytes(file: Pick<FileContent, 'content' | 'encoding'>): Buffer {
  return Buffer.from(file.content, file.encoding === 'base64' ? 'base64' : 'utf8');
}

const byteOrderMark = '\ufeff';

/**
 * A text column as stored, given its size in bytes. PGlite decodes results with a
 * TextDecoder that drops a leading byte-order mark (3 bytes in UTF-8); put it back.
 */
export function storedText(text: string, size: number): string {
  if (!text.startsWith(byteOrderMark) && Buffer.byteLength(text) === size - 3) return byteOrderMark + text;
  return text;
}
