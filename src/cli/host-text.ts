/**
 * Reading a host text file for a command (a JSON-lines file, a prompt): only the CLI face
 * reads host files. Through host-files.ts, so a link is not followed and a FIFO or device
 * is refused rather than read (or blocked on), and a huge file fails fast.
 */
import type { AosError } from '../errors.js';
import { NotRegularFileError, readRegularFile } from '../fs/host-files.js';

/** A host file's text; `failure(reason)` is thrown when it cannot be read (missing, a link, not regular). */
export async function readHostText(
  file: string,
  maxBytes: number,
  failure: (reason: string) => AosError,
): Promise<string> {
  try {
    return (await readRegularFile(file, file, maxBytes)).toString('utf8');
  } catch (error) {
    if (error instanceof NotRegularFileError) throw failure(error.reason);
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string') throw failure(code);
    throw error;
  }
}
