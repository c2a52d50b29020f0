/** Runs work in a transaction: a new one on a database handle, or the caller's when given one already. */
import type { Queryable } from '../storage/db.js';

type MaybeDb = Queryable & { transaction?: <T>(work: (tx: Queryable) => Promise<T>) => Promise<T> };

/** `work` in a transaction of `db` when it is a Db; when it is already a transaction, in that one. */
export function inTransaction<T>(db: Queryable, work: (tx: Queryable) => Promise<T>): Promise<T> {
  const candidate = db as MaybeDb;
  return typeof candidate.transaction === 'function' ? candidate.transaction(work) : work(db);
}
