/**
 * Reading host files for the CLI without trusting them to stay put: opened without
 * following links and without blocking (a FIFO), checked to be regular with fstat, and
 * read up to the size limit plus one byte, so a huge or endless input fails fast.
 */
import { constants, existsSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { AosError } from '../errors.js';
import { checkFileSize, formatBytes } from './content.js';

/** Why a host entry was not read: a link, or not a regular file. */
export class NotRegularFileError extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

/** On Linux, /proc/self/fd/N/NAME resolves NAME inside the directory open as N (as openat does). */
const procFd = process.platform === 'linux' && existsSync('/proc/self/fd');

/** The path of `name` inside the open directory `directory` (or inside `path` without /proc). */
export function pathInside(directory: FileHandle, path: string, name: string): string {
  return procFd ? `/proc/self/fd/${directory.fd}/${name}` : `${path}/${name}`;
}

/** Opens a directory without following a link in its last component; NotRegularFileError if it is not one. */
export async function openDirectory(path: string): Promise<FileHandle> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    return handle;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new NotRegularFileError('symbolic link (not followed)');
    if (code === 'ENOTDIR') throw new NotRegularFileError('no longer a directory');
    throw error;
  }
}

/** The directory's entry names, through its handle. */
export function directoryListingPath(directory: FileHandle, path: string): string {
  return procFd ? `/proc/self/fd/${directory.fd}` : path;
}

/**
 * Reads a regular file at `path` (shown as `shown`): `limit_exceeded` past `maxBytes`,
 * NotRegularFileError for a link, FIFO, device or socket (never blocks on them).
 */
export async function readRegularFile(path: string, shown: string, maxBytes: number): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new NotRegularFileError('symbolic link (not followed)');
    }
    throw error;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new NotRegularFileError('not a regular file');
    checkFileSize(shown, stat.size, maxBytes);
    return await readBounded(handle, shown, maxBytes);
  } finally {
    await handle.close();
  }
}

/** Reads at most `maxBytes` from a handle; `limit_exceeded` if there is more (a file that grew). */
async function readBounded(handle: FileHandle, shown: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buffer = Buffer.alloc(Math.min(1 << 20, maxBytes + 1 - total));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) return Buffer.concat(chunks, total);
    chunks.push(buffer.subarray(0, bytesRead));
    total += bytesRead;
    if (total > maxBytes) throw overLimit(shown, maxBytes);
  }
}

/** Reads a stream (standard input) up to `maxBytes`; stops and fails `limit_exceeded` at one byte more. */
export async function readStreamBounded(stream: Readable, shown: string, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream) {
    const bytes = Buffer.from(chunk as Uint8Array);
    total += bytes.length;
    if (total > maxBytes) {
      stream.destroy();
      throw overLimit(shown, maxBytes);
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, total);
}

function overLimit(shown: string, maxBytes: number): AosError {
  return new AosError('limit_exceeded', `${shown} is over the limit of ${formatBytes(maxBytes)} per file`, {
    hint: 'split it into several files, or raise the limit (AOS_FS_MAX_FILE_BYTES, or the kernel option fileSystem.maxFileBytes)',
    retryable: false,
    details: { maxBytes },
  });
}
