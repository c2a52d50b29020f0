/**
 * Namespaces: where memories and agent files live. A name is free-form within a
 * small alphabet; by convention `process:PID`, `agent:NAME` and `owner:NAME` are the
 * spaces of a process, of its agent and of its owner. A namespace comes into being
 * at its first write; reading one that was never written is `not_found`.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';

const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,199}$/;

/** Checks a namespace name; `invalid_input` with a hint when it is malformed. */
export function checkNamespaceName(name: string): string {
  if (!namePattern.test(name)) {
    throw new AosError('invalid_input', `"${name}" is not a namespace name`, {
      hint: 'use letters, digits and _ . : @ / - (up to 200), starting with a letter or digit, e.g. agent:researcher',
    });
  }
  return name;
}

/** Creates the namespace if it does not exist yet (call it before the first write). */
export async function ensureNamespace(db: Queryable, name: string): Promise<void> {
  await db.query('insert into aos.namespaces (name) values ($1) on conflict (name) do nothing', [
    checkNamespaceName(name),
  ]);
}

/** Throws `not_found` unless the namespace exists. */
export async function requireNamespace(db: Queryable, name: string): Promise<void> {
  const found = await db.query('select 1 from aos.namespaces where name = $1', [checkNamespaceName(name)]);
  if (found.rowCount === 0) {
    throw new AosError('not_found', `no namespace named "${name}"`, {
      hint: 'a namespace exists once something is written to it (aos mem add, aos mem import, aos fs write)',
    });
  }
}

/** Of `names`, those that exist (were written to), in the order given. */
export async function existingNamespaces(db: Queryable, names: readonly string[]): Promise<string[]> {
  const found = await db.query<{ name: string }>('select name from aos.namespaces where name = any($1)', [
    names,
  ]);
  const present = new Set(found.rows.map((row) => row.name));
  return names.filter((name) => present.has(name));
}

/** The namespaces a process uses by default, most specific first: its own, its agent's, its owner's. */
export function processNamespaces(process: { pid: number; agentName: string; owner: string }): string[] {
  return [`process:${process.pid}`, `agent:${process.agentName}`, `owner:${process.owner}`];
}

/** The namespace of a process. */
export function processNamespace(pid: number): string {
  return `process:${pid}`;
}
