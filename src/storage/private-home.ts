/**
 * The embedded database's folders as private to the user: the home is refused when
 * another user owns it or others may write it (as ssh refuses such a ~/.ssh), and made
 * 0700; the socket lives in a short 0700 folder of its own under the runtime directory.
 */
import { createHash } from 'node:crypto';
import { chmodSync, type Dirent, lstatSync, mkdirSync, readdirSync, type Stats, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AosError } from '../errors.js';

/** node-postgres connects to DIR/.s.PGSQL.PORT; Unix socket paths are limited to about 107 bytes. */
export const socketPort = 5432;
const maxSocketPath = 100;

/** The current user's id, or undefined where there are none (Windows). */
function userId(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

/**
 * Creates `home` (0700) or checks that an existing one is the user's and not writable
 * by group or others, then makes it 0700. `forbidden` otherwise, before anything in it is read.
 */
export function preparePrivateHome(home: string): void {
  const uid = userId();
  if (uid !== undefined) checkFoldersAbove(resolve(home), uid);
  let found: Stats | undefined;
  try {
    found = statSync(home);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (found === undefined) {
    mkdirSync(home, { recursive: true, mode: 0o700 });
  } else {
    if (!found.isDirectory()) {
      throw new AosError('invalid_input', `the aos home ${home} is not a directory`, {
        hint: 'set AOS_HOME (or --home) to a directory',
      });
    }
    if (uid !== undefined && found.uid !== uid) {
      throw new AosError('forbidden', `the aos home ${home} belongs to user ${found.uid}, not to you`, {
        hint: `use your own folder (AOS_HOME or --home), or take it over: chown -R ${uid} ${home} && chmod 700 ${home}`,
      });
    }
    if (uid !== undefined && (found.mode & 0o022) !== 0) {
      throw new AosError(
        'forbidden',
        `the aos home ${home} is writable by others (mode ${(found.mode & 0o777).toString(8)})`,
        {
          hint: `anyone who can write it can redirect aos to their database; if its contents are yours: chmod 700 ${home}`,
        },
      );
    }
  }
  if (uid !== undefined) chmodSync(home, 0o700);
}

/**
 * `forbidden` when a folder above the home would let another user swap the home for one of
 * theirs: one owned by someone other than the user or root, or writable by group or others
 * without the sticky bit (a sticky folder like /tmp lets no one rename what is not theirs).
 */
function checkFoldersAbove(home: string, uid: number): void {
  for (let folder = dirname(home); ; folder = dirname(folder)) {
    let found: Stats | undefined;
    try {
      found = statSync(folder);
    } catch (error) {
      // Not there yet: the home's creation makes it, as the user's.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (found !== undefined) {
      const openToOthers = (found.mode & 0o022) !== 0 && (found.mode & 0o1000) === 0;
      if ((found.uid !== uid && found.uid !== 0) || openToOthers) {
        throw new AosError(
          'forbidden',
          `the aos home ${home} is inside ${folder}, which another user could use to replace it (${openToOthers ? `mode ${(found.mode & 0o7777).toString(8)}` : `owned by user ${found.uid}`})`,
          { hint: `keep the aos home in folders only you and root can write, or: chmod o-w,g-w ${folder}` },
        );
      }
    }
    if (dirname(folder) === folder) return;
  }
}

/**
 * The short private folder for the embedded database's socket: $XDG_RUNTIME_DIR (or
 * the temporary folder, or /tmp when that is too long) / aos-UID-HASH-OF-HOME, created
 * 0700; `forbidden` when it exists and is not a folder of this user's that only they can enter.
 */
export function socketDirectory(home: string): string {
  const uid = userId() ?? 0;
  const name = `aos-${uid}-${createHash('sha256').update(home).digest('hex').slice(0, 16)}`;
  const socketName = `.s.PGSQL.${socketPort}`;
  const runtime = process.env.XDG_RUNTIME_DIR;
  const bases = [...(runtime?.startsWith('/') ? [runtime] : []), tmpdir(), '/tmp'];
  const base = bases.find((candidate) => join(candidate, name, socketName).length <= maxSocketPath);
  if (base === undefined) {
    throw new AosError('unavailable', 'no folder short enough for the embedded database socket', {
      hint: 'set TMPDIR to a short folder, such as /tmp',
    });
  }
  const directory = join(base, name);
  try {
    mkdirSync(directory, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  checkPrivateDirectory(directory);
  return directory;
}

/** `forbidden` unless `directory` is a real folder (not a link) of this user's, mode 0700 or tighter. */
export function checkPrivateDirectory(directory: string): void {
  const uid = userId();
  if (uid === undefined) return;
  const found = lstatSync(directory);
  if (!found.isDirectory() || found.uid !== uid || (found.mode & 0o077) !== 0) {
    throw new AosError(
      'forbidden',
      `the embedded database socket folder ${directory} is not private to you (a link, another user's, or open to others)`,
      { hint: `remove it (rm -r ${directory}) and run the command again` },
    );
  }
}

/** Makes every file under `directory` 0600 and every folder 0700 (PGlite creates its files 0666). */
export function makePrivateTree(directory: string): void {
  if (userId() === undefined) return;
  chmodSync(directory, 0o700);
  let entries: Dirent[];
  try {
    entries = readdirSync(directory, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) makePrivateTree(path);
    else if (entry.isFile()) chmodSync(path, 0o600);
  }
}
