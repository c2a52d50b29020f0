/**
 * Chooses the database: a PostgreSQL server when a URL is given (--db or
 * AOS_DATABASE_URL), else the embedded database in AOS_HOME or ./.aos.
 */
import { join, resolve } from 'node:path';
import type { Db } from './db.js';
import { openEmbeddedDatabase } from './embedded-database.js';
import { createPostgresDb } from './postgres-db.js';

export interface DatabaseChoice {
  /** A postgres:// URL; defaults to AOS_DATABASE_URL. */
  url?: string | undefined;
  /** The embedded database's folder; defaults to AOS_HOME, then ./.aos. */
  home?: string | undefined;
}

/** Opens the chosen database and checks that it answers (`unavailable` with a hint when not). */
export async function openDatabase(choice: DatabaseChoice = {}): Promise<Db> {
  const url = choice.url ?? process.env.AOS_DATABASE_URL;
  if (url !== undefined && url !== '') {
    const db = createPostgresDb({ connection: url });
    try {
      await db.query('select 1');
    } catch (error) {
      await db.close().catch(() => {});
      throw error;
    }
    return db;
  }
  return openEmbeddedDatabase(embeddedHome(choice.home));
}

/** The embedded database's folder: `home`, else AOS_HOME, else ./.aos (an empty value counts as unset). */
export function embeddedHome(home?: string): string {
  return resolve(home || process.env.AOS_HOME || join(process.cwd(), '.aos'));
}
