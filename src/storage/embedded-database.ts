/**
 * The embedded database shared by several aos processes. The first aos command to
 * open `.aos/` becomes its owner: it opens PGlite and serves it on a Unix socket
 * (PGlite's socket server); every aos process, the owner included, then talks to it
 * as a PostgreSQL client. When the owner exits, the next command takes over.
 * PGlite's socket server has no authentication, so the socket is only ever a Unix
 * socket in a private folder (never TCP), and the home is checked before it is read.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { AosError } from '../errors.js';
import type { Db } from './db.js';
import { openPglite } from './pglite-db.js';
import { commitInDoubt, createPostgresDb } from './postgres-db.js';
import {
  checkPrivateDirectory,
  makePrivateTree,
  preparePrivateHome,
  socketDirectory,
  socketPort,
} from './private-home.js';

/** What the owner publishes in server.json for the other processes. */
interface ServerInfo {
  pid: number;
  /** The private Unix socket directory (node-postgres connects to DIR/.s.PGSQL.PORT). */
  host: string;
  port: number;
}

/** Opens the embedded database in `home` (created if needed), as its owner or as a client of it. */
export async function openEmbeddedDatabase(home: string): Promise<Db> {
  // Before anything in it is read: a server.json planted by another user would redirect aos.
  preparePrivateHome(home);
  const lockPath = join(home, 'owner.lock');
  let lastError: unknown;
  for (let attempt = 0; attempt < 100; attempt++) {
    const info = readServerInfo(home);
    if (info !== undefined && isAlive(info.pid)) {
      try {
        return handedOver(home, info.pid, await connect(home, info));
      } catch (error) {
        lastError = error; // the owner is starting or stopping: try again
      }
    } else if (takeLock(lockPath)) {
      try {
        return await becomeOwner(home, lockPath);
      } catch (error) {
        rmSync(lockPath, { force: true });
        throw error;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new AosError('unavailable', `the embedded database in ${home} does not answer`, {
    hint: `another aos process holds it (see ${join(home, 'server.json')}); stop it, or set AOS_HOME to another folder`,
    cause: lastError,
  });
}

async function connect(home: string, info: ServerInfo): Promise<Db> {
  // Only a private Unix socket: a TCP port (older aos) or a folder others can enter is refused.
  if (!isAbsolute(info.host)) {
    throw new AosError(
      'unavailable',
      `the embedded database in ${home} is served on ${info.host}, not on a private socket`,
    );
  }
  checkPrivateDirectory(info.host);
  const db = createPostgresDb({
    connection: {
      host: info.host,
      port: info.port,
      user: 'postgres',
      database: 'postgres',
      connectionTimeoutMillis: 2000,
    },
    location: `${home} (embedded, served by process ${info.pid})`,
    kind: 'pglite',
    deliversNotifications: false,
    everyStatementInTransaction: true,
  });
  await db.query('select 1');
  return db;
}

async function becomeOwner(home: string, lockPath: string): Promise<Db> {
  const dataDir = join(home, 'db');
  const pglite = await openPglite(dataDir);
  makePrivateTree(dataDir);
  const socketFolder = socketDirectory(home);
  const socketPath = join(socketFolder, `.s.PGSQL.${socketPort}`);
  rmSync(socketPath, { force: true });
  const server = new PGLiteSocketServer({ db: pglite, path: socketPath, maxConnections: 256 });
  await server.start();
  const info: ServerInfo = { pid: process.pid, host: socketFolder, port: socketPort };
  const infoPath = join(home, 'server.json');
  writeFileSync(`${infoPath}.tmp`, JSON.stringify(info), { mode: 0o600 });
  renameSync(`${infoPath}.tmp`, infoPath);
  const db = createPostgresDb({
    connection: { host: info.host, port: info.port, user: 'postgres', database: 'postgres' },
    location: `${home} (embedded)`,
    kind: 'pglite',
    deliversNotifications: false,
    everyStatementInTransaction: true,
    async onClose() {
      rmSync(infoPath, { force: true });
      await server.stop();
      await pglite.close();
      // Files PGlite created while it ran (0666) become the user's only.
      makePrivateTree(dataDir);
      rmSync(socketPath, { force: true });
      rmSync(socketFolder, { recursive: true, force: true });
      rmSync(lockPath, { force: true });
    },
  });
  return db;
}

// Errors of a connection that could not be opened: no statement was sent, so retrying is safe.
const notConnected = new Set(['ENOENT', 'ECONNREFUSED']);
// Errors of a connection that broke: what the owner had not committed is gone with it.
const connectionLost = new Set(['ECONNRESET', 'EPIPE', '57P01']);

function causeCode(error: unknown): string | undefined {
  const cause = error instanceof AosError ? error.cause : error;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const message = (cause as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message.includes('Connection terminated') ? 'ECONNRESET' : undefined;
}

/**
 * A client of the embedded database that survives its owner's exit: a statement that
 * cannot connect, or a transaction that broke before its COMMIT, reopens the database
 * (this process may become the owner) and runs again; one that broke while committing
 * is `unavailable`, since it may or may not have committed.
 */
function handedOver(home: string, ownerPid: number, first: Db): Db {
  let current = first;
  let owner = ownerPid;
  let reopening: Promise<Db> | undefined;
  async function using<T>(work: (db: Db) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const db = current;
      try {
        return await work(db);
      } catch (error) {
        const code = causeCode(error);
        // A transaction that broke before its COMMIT was sent committed nothing: its work is
        // retry-safe, as for a serialization conflict, so it runs again on the reopened database.
        const retryable =
          code !== undefined &&
          (notConnected.has(code) ||
            (connectionLost.has(code) &&
              !(typeof error === 'object' && error !== null && commitInDoubt.has(error))));
        if (retryable && attempt < 5) {
          if (db === current) {
            reopening ??= openEmbeddedDatabase(home).finally(() => {
              reopening = undefined;
            });
            const next = await reopening;
            if (db === current) {
              current = next;
              owner = Number(readServerInfo(home)?.pid ?? process.pid);
              await db.close().catch(() => {});
            }
          }
          continue;
        }
        if (code !== undefined && connectionLost.has(code)) {
          throw new AosError(
            'unavailable',
            `the aos command serving the embedded database in ${home} (process ${owner}) exited while this command committed`,
            {
              hint: 'the last change may or may not have been kept: check (e.g. aos ps), then run the command again',
              cause: error,
            },
          );
        }
        throw error;
      }
    }
  }
  const db: Db = {
    kind: first.kind,
    get location() {
      return current.location;
    },
    deliversNotifications: first.deliversNotifications,
    query: (sql, params, options) => using((inner) => inner.query(sql, params, options)),
    exec: (sql) => using((inner) => inner.exec(sql)),
    transaction: (work) => using((inner) => inner.transaction(work)),
    listen: (channel, onNotify) => using((inner) => inner.listen(channel, onNotify)),
    // One session over PGlite's socket: bounds do not apply.
    bounded: () => db,
    connection: async () => ({ query: db.query, exec: db.exec, close: async () => {} }),
    close: () => current.close(),
  };
  return db;
}

function readServerInfo(home: string): ServerInfo | undefined {
  const path = join(home, 'server.json');
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
}

/** Creates the lock file, or clears a lock left by a process that died. */
function takeLock(path: string): boolean {
  try {
    const fd = openSync(path, 'wx', 0o600);
    writeFileSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const holder = Number(readFileSync(path, 'utf8') || '0');
    if (holder !== process.pid && !isAlive(holder)) rmSync(path, { force: true });
    return false;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
