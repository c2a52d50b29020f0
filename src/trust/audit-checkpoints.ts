/**
 * Signed checkpoints of the audit chain's head, kept outside the database (a file of
 * JSON lines, or a URL that accepts them), so that rewriting the log or cutting its
 * tail is detected even by someone who controls the database.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { canonicalJson } from '../canonical-json.js';
import { AosError } from '../errors.js';
import { databaseIdentity } from '../storage/database-identity.js';
import type { Db, Queryable } from '../storage/db.js';
import { drainAudit } from './audit.js';

/** Where the signing key and the checkpoints are. */
export interface CheckpointConfig {
  /** PEM file with the Ed25519 private key; created on first use. */
  keyFile: string;
  /** A file path (JSON lines are appended) or an http(s) URL (POST one JSON line, GET them all). */
  target: string;
  /**
   * The database's identity (aos.identity): written into each checkpoint, and verify
   * checks only the checkpoints of this database. Unset: checkpoints name no database.
   */
  database?: string;
}

/** A signed statement: the chain of database `database` had this hash at this id. */
export interface Checkpoint {
  id: number;
  hash: string;
  at: string;
  /** The database's identity; absent in checkpoints written before they named it. */
  database?: string;
  signature: string;
}

/** The defaults: AOS_AUDIT_KEY and AOS_AUDIT_CHECKPOINTS, else files in the aos home folder. */
export function checkpointConfig(home: string, database?: string): CheckpointConfig {
  return {
    keyFile: process.env.AOS_AUDIT_KEY ?? join(home, 'audit-key.pem'),
    target: process.env.AOS_AUDIT_CHECKPOINTS ?? join(home, 'audit-checkpoints.jsonl'),
    ...(database === undefined ? {} : { database }),
  };
}

/**
 * The checkpoint settings for `db`: with the embedded database, files in its home
 * (`home`); with a server, a store per database under the user's aos home (`home`,
 * never the working directory), `audit/DATABASE-ID/checkpoints.jsonl`, and the key
 * beside it. AOS_AUDIT_KEY and AOS_AUDIT_CHECKPOINTS override both.
 */
export async function checkpointConfigOf(db: Db, home: string): Promise<CheckpointConfig> {
  const database = await databaseIdentity(db);
  if (db.kind === 'pglite') return checkpointConfig(home, database);
  return {
    keyFile: process.env.AOS_AUDIT_KEY ?? join(home, 'audit-key.pem'),
    target: process.env.AOS_AUDIT_CHECKPOINTS ?? join(home, 'audit', database, 'checkpoints.jsonl'),
    database,
  };
}

/** The aos home of a user, for what a server database keeps locally: `home`, else AOS_HOME, else ~/.aos (an empty value counts as unset). */
export function userAosHome(home?: string): string {
  return resolve(home || process.env.AOS_HOME || join(homedir(), '.aos'));
}

/** The private key, created (mode 600) when the file does not exist. */
export function loadOrCreateKey(keyFile: string): KeyObject {
  if (!existsSync(keyFile)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    mkdirSync(dirname(keyFile), { recursive: true });
    writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    return privateKey;
  }
  try {
    return createPrivateKey(readFileSync(keyFile));
  } catch (error) {
    throw new AosError('invalid_input', `cannot read the audit signing key ${keyFile}`, {
      hint: 'it must be an Ed25519 private key in PEM (PKCS#8); move it away to have a new one made',
      cause: error,
    });
  }
}

function statement(checkpoint: Omit<Checkpoint, 'signature'>): Buffer {
  const { id, hash, at, database } = checkpoint;
  return Buffer.from(canonicalJson(database === undefined ? { id, hash, at } : { id, hash, at, database }));
}

/**
 * Chains what is pending, signs the chain's head and stores it at the target; returns it
 * (undefined when the chain is empty).
 */
export async function writeCheckpoint(
  db: Queryable,
  config: CheckpointConfig,
): Promise<Checkpoint | undefined> {
  await drainAudit(db);
  const head = await db.query<{ id: number; hash: Buffer }>(
    'select id, hash from aos.audit order by id desc limit 1',
  );
  const row = head.rows[0];
  if (row === undefined) return undefined;
  const unsigned = {
    id: row.id,
    hash: Buffer.from(row.hash).toString('hex'),
    at: new Date().toISOString(),
    ...(config.database === undefined ? {} : { database: config.database }),
  };
  const signature = sign(null, statement(unsigned), loadOrCreateKey(config.keyFile)).toString('base64');
  const checkpoint: Checkpoint = { ...unsigned, signature };
  const line = `${JSON.stringify(checkpoint)}\n`;
  if (/^https?:\/\//.test(config.target)) {
    const response = await fetch(config.target, {
      method: 'POST',
      body: line,
      headers: { 'content-type': 'application/jsonl' },
    });
    if (!response.ok) {
      throw new AosError('unavailable', `the checkpoint store ${config.target} answered ${response.status}`, {
        hint: 'check AOS_AUDIT_CHECKPOINTS',
      });
    }
  } else {
    mkdirSync(dirname(config.target), { recursive: true });
    appendFileSync(config.target, line);
  }
  return checkpoint;
}

/** Every checkpoint stored at the target, oldest first. */
export async function readCheckpoints(config: CheckpointConfig): Promise<Checkpoint[]> {
  let text: string;
  if (/^https?:\/\//.test(config.target)) {
    const response = await fetch(config.target);
    if (!response.ok)
      throw new AosError('unavailable', `the checkpoint store ${config.target} answered ${response.status}`);
    text = await response.text();
  } else {
    if (!existsSync(config.target)) return [];
    text = readFileSync(config.target, 'utf8');
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => {
      try {
        return JSON.parse(line) as Checkpoint;
      } catch (error) {
        throw new AosError('invalid_input', `${config.target}:${index + 1}: not a checkpoint`, {
          cause: error,
        });
      }
    });
}

/** Whether the checkpoint was signed by the key in `keyFile`. */
export function checkpointSigned(checkpoint: Checkpoint, key: KeyObject): boolean {
  try {
    return verify(
      null,
      statement(checkpoint),
      createPublicKey(key),
      Buffer.from(checkpoint.signature, 'base64'),
    );
  } catch {
    return false;
  }
}
