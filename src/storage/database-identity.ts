/** The identity of an aos database: the random id migration 0008 made once (aos.identity). */
import type { Queryable } from './db.js';

/** The database's id, a UUID that never changes for this database. */
export async function databaseIdentity(db: Queryable): Promise<string> {
  const result = await db.query<{ id: string }>('select id::text as id from aos.identity');
  return result.rows[0]!.id;
}
