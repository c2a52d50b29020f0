/**
 * File contents: text or binary, decided by the bytes. Content is text when it is valid
 * UTF-8 without a NUL byte (a byte-order mark is kept); anything else is binary and kept
 * byte for byte. Also the per-file size limit and the SHA-256 of the bytes.
 */
import { createHash } from 'node:crypto';
import { AosError } from '../errors.js';

/** What a stored version holds. */
export type ContentKind = 'text' | 'binary';

/** Content ready to store. */
export interface EncodedContent {
  kind: ContentKind;
  /** The text, for a text file; null for binary. */
  text: string | null;
  bytes: Buffer;
  size: number;
  /** Hex SHA-256 of the bytes. */
  sha256: string;
}

/** The default size limit of one file: 10 MiB. */
export const defaultMaxFileBytes = 10 * 1024 * 1024;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Classifies and hashes content given as text or as bytes. */
export function encodeContent(content: string | Uint8Array): EncodedContent {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const text = bytes.includes(0) ? null : decodeUtf8(bytes);
  return { kind: text === null ? 'binary' : 'text', text, bytes, size: bytes.length, sha256 };
}

function decodeUtf8(bytes: Buffer): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** The size limit in force: `configured`, else AOS_FS_MAX_FILE_BYTES, else 10 MiB. */
export function maxFileBytesOf(configured?: number): number {
  if (configured !== undefined) return checkLimit(configured, 'maxFileBytes');
  const fromEnvironment = process.env.AOS_FS_MAX_FILE_BYTES;
  if (fromEnvironment === undefined || fromEnvironment === '') return defaultMaxFileBytes;
  return checkLimit(Number(fromEnvironment), 'AOS_FS_MAX_FILE_BYTES');
}

function checkLimit(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AosError('invalid_input', `${name} must be a positive whole number of bytes, not ${value}`, {
      hint: 'e.g. AOS_FS_MAX_FILE_BYTES=20971520 for 20 MiB',
    });
  }
  return value;
}

/** Throws `limit_exceeded` when `size` bytes are over `maxBytes`. */
export function checkFileSize(path: string, size: number, maxBytes: number): void {
  if (size > maxBytes) {
    throw new AosError(
      'limit_exceeded',
      `${path} is ${formatBytes(size)}, over the limit of ${formatBytes(maxBytes)} per file`,
      {
        hint: 'split it into several files, or raise the limit (AOS_FS_MAX_FILE_BYTES, or the kernel option fileSystem.maxFileBytes)',
        retryable: false,
        details: { size, maxBytes },
      },
    );
  }
}

/** "512 B", "3.2 KiB", "10.0 MiB". */
export function formatBytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / (1024 * 1024)).toFixed(1)} MiB`;
}
