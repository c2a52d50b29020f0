/**
 * The peers' package (bench/step-overhead/peers/): its own package.json and lock, so the
 * peers stay out of aos's dependencies. Installed here with `npm ci` when its lock changed
 * since the last install, and its contenders compiled with aos's TypeScript.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Installed versions of the peers' packages, read from their node_modules. */
export type PeerVersions = Record<string, string>;

function run(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(new Error(`${command} ${args.join(' ')} in ${cwd} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/**
 * Installs the peers' package in `folder` if its lock differs from the installed one, compiles
 * its contenders to `folder`/dist with the TypeScript compiler in `root`, and returns versions.
 */
export async function preparePeers(root: string, folder: string): Promise<PeerVersions> {
  const lock = readFileSync(join(folder, 'package-lock.json'));
  const digest = createHash('sha256').update(lock).digest('hex');
  const stamp = join(folder, 'node_modules', '.aos-bench-lock-sha256');
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== digest) {
    process.stderr.write(`installing the peers in ${folder} (npm ci)\n`);
    await run('npm', ['ci', '--no-audit', '--no-fund'], folder);
    writeFileSync(stamp, digest);
  }
  await run(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(folder, 'tsconfig.json')],
    root,
  );
  const manifest = JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const versions: PeerVersions = {};
  for (const name of Object.keys(manifest.devDependencies)) {
    const installed = JSON.parse(
      readFileSync(join(folder, 'node_modules', name, 'package.json'), 'utf8'),
    ) as {
      version: string;
    };
    versions[name] = installed.version;
  }
  return versions;
}
