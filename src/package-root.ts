/** Finds aos's own package folder (where migrations/ lives), from source or from dist/. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding aos's package.json. */
export function packageRoot(): string {
  if (cached !== undefined) return cached;
  let directory = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'aos') {
      cached = directory;
      return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) throw new Error('cannot find the aos package folder');
    directory = parent;
  }
}

/** aos's version, from its package.json. */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')).version;
}
