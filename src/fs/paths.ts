/**
 * Paths of the agent file system: normalised absolute POSIX paths ("/notes/plan.md").
 * A missing leading slash is added and the name is put in Unicode NFC; anything that
 * could escape a directory or confuse a terminal (.., ., empty segments, NUL and other
 * control characters, over-long names) is refused with `invalid_input` and a hint.
 */
import { AosError } from '../errors.js';

/** Longest path, in UTF-8 bytes (as PATH_MAX-like limits count). */
export const maxPathBytes = 1024;
/** Longest segment (one file or directory name), in UTF-8 bytes, as NAME_MAX on Linux. */
export const maxSegmentBytes = 255;

// C0 controls, DEL and C1 controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const controlCharacter = /[\u0000-\u001f\u007f-\u009f]/;

const pathHint =
  'write an absolute path such as /notes/plan.md: no "." or ".." segments, no empty segments (//), no control characters';

function invalidPath(path: string, why: string): AosError {
  return new AosError('invalid_input', `${JSON.stringify(path)} is not a valid path: ${why}`, {
    hint: pathHint,
  });
}

/**
 * Normalises and checks a file path: "/a/b.md" or "a/b.md" gives "/a/b.md"; the root
 * "/" and a trailing slash are refused (a file needs a name). Throws `invalid_input`.
 */
export function normaliseFilePath(path: string): string {
  const normal = normaliseDirectoryPath(path);
  if (normal === '/') throw invalidPath(path, 'the root "/" is a directory, not a file');
  if (path.endsWith('/')) throw invalidPath(path, 'a file path cannot end with "/"');
  return normal;
}

/**
 * Normalises and checks a path that may name a directory: as normaliseFilePath, but
 * "/" (or "") is the root and one trailing slash is allowed ("/notes/" is "/notes").
 */
export function normaliseDirectoryPath(path: string): string {
  if (controlCharacter.test(path)) {
    throw invalidPath(path, 'it contains a NUL or another control character');
  }
  let normal = path.normalize('NFC');
  if (!normal.startsWith('/')) normal = `/${normal}`;
  if (normal.includes('//')) throw invalidPath(path, 'it has an empty segment (//)');
  if (normal.length > 1 && normal.endsWith('/')) normal = normal.slice(0, -1);
  if (normal === '/') return normal;
  if (Buffer.byteLength(normal) > maxPathBytes) {
    throw invalidPath(`${path.slice(0, 40)}…`, `it is longer than ${maxPathBytes} bytes`);
  }
  for (const segment of normal.slice(1).split('/')) {
    if (segment === '') throw invalidPath(path, 'it has an empty segment (//)');
    if (segment === '.' || segment === '..') throw invalidPath(path, `it has a "${segment}" segment`);
    if (Buffer.byteLength(segment) > maxSegmentBytes) {
      throw invalidPath(path, `the name "${segment.slice(0, 40)}…" is longer than ${maxSegmentBytes} bytes`);
    }
  }
  return normal;
}

/** The directories above a normalised path, nearest last: "/a/b/c" gives ["/a", "/a/b"]. */
export function parentPaths(path: string): string[] {
  const segments = path.slice(1).split('/');
  return segments.slice(0, -1).map((_, index) => `/${segments.slice(0, index + 1).join('/')}`);
}

/** Whether `path` is `directory` itself or lies under it (both normalised). */
export function isWithin(path: string, directory: string): boolean {
  return directory === '/' || path === directory || path.startsWith(`${directory}/`);
}

/**
 * The bounds of the byte range of paths strictly under `directory` in "C" collation:
 * every such path p has low <= p < high (the character after "/" is "0").
 */
export function subtreeRange(directory: string): { low: string; high: string } {
  const base = directory === '/' ? '' : directory;
  return { low: `${base}/`, high: `${base}0` };
}
