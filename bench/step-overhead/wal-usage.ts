/**
 * WAL written by one database between two positions. The WAL is the whole server's, shared
 * here with other users, so besides the raw distance between the positions this reads the
 * records themselves (pg_walinspect, PostgreSQL 15+) and keeps those of the database: records
 * touching one of its relations, and every record of a transaction that did (its commit).
 */
import type pg from 'pg';

/** WAL between two positions; `own*` fields count only the database's records (null: not read). */
export interface WalUsage {
  /** pg_wal_lsn_diff(end, start): every record of the server, page headers included. */
  lsnBytes: number;
  ownRecords: number | null;
  /** Sum of the database's record lengths, full-page images included. */
  ownBytes: number | null;
  /** Of `ownBytes`, full-page images (the first change to a page after a checkpoint). */
  ownFullPageBytes: number | null;
  /** Commit records of the database's transactions: the commits that wrote and flushed WAL. */
  ownCommitRecords: number | null;
}

/** The current WAL insert position. */
export async function walPosition(client: pg.Client): Promise<string> {
  const result = await client.query<{ lsn: string }>('select pg_current_wal_insert_lsn()::text as lsn');
  return result.rows[0]!.lsn;
}

/** Installs pg_walinspect in the database `client` is connected to (superuser); false when missing. */
export async function enableWalInspection(client: pg.Client): Promise<boolean> {
  const available = await client.query("select 1 from pg_available_extensions where name = 'pg_walinspect'");
  if (available.rowCount === 0) return false;
  await client.query('create extension if not exists pg_walinspect');
  return true;
}

/**
 * The WAL from `start` to `end` (positions from walPosition), with the records of the database
 * `client` is connected to when pg_walinspect is installed there (else the `own*` fields are null).
 */
export async function walUsage(
  client: pg.Client,
  start: string,
  end: string,
  inspect: boolean,
): Promise<WalUsage> {
  const distance = await client.query<{ bytes: string }>(
    'select pg_wal_lsn_diff($2::pg_lsn, $1::pg_lsn)::bigint as bytes',
    [start, end],
  );
  const lsnBytes = Number(distance.rows[0]!.bytes);
  if (!inspect) {
    return { lsnBytes, ownRecords: null, ownBytes: null, ownFullPageBytes: null, ownCommitRecords: null };
  }
  // Records can only be read once flushed. The measured commits were, and so were all the
  // records before them; what may lag behind `end` is other users' WAL (or a page header).
  let readable = end;
  for (let attempt = 0; attempt < 20; attempt++) {
    const flushed = await client.query<{ lsn: string; ready: boolean }>(
      'select least($1::pg_lsn, pg_current_wal_flush_lsn())::text as lsn, pg_current_wal_flush_lsn() >= $1::pg_lsn as ready',
      [end],
    );
    readable = flushed.rows[0]!.lsn;
    if (flushed.rows[0]!.ready) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // pg_get_wal_records_info refuses an empty range (its start must be before the flush position).
  const range = await client.query<{ empty: boolean }>('select $2::pg_lsn <= $1::pg_lsn as empty', [
    start,
    readable,
  ]);
  if (range.rows[0]!.empty)
    return { lsnBytes, ownRecords: 0, ownBytes: 0, ownFullPageBytes: 0, ownCommitRecords: 0 };
  const own = await client
    .query<{ records: string; bytes: string; fpi: string; commits: string }>(
      `with records as materialized (
       select * from pg_get_wal_records_info($1::pg_lsn, $2::pg_lsn)
     ), pattern as (
       select 'rel [0-9]+/' || oid || '/' as relation from pg_database where datname = current_database()
     ), transactions as (
       select distinct xid from records, pattern where block_ref ~ relation and xid <> '0'::xid
     )
     select count(*) as records,
            coalesce(sum(record_length), 0) as bytes,
            coalesce(sum(fpi_length), 0) as fpi,
            count(*) filter (where resource_manager = 'Transaction' and record_type like 'COMMIT%') as commits
     from records, pattern
     where block_ref ~ relation or xid in (select xid from transactions)`,
      [start, readable],
    )
    .catch((error: { code?: string }) => {
      if (error.code !== '58P01') throw error;
      throw new Error(`the WAL from ${start} was recycled by a checkpoint before it was read`, {
        cause: error,
      });
    });
  const row = own.rows[0]!;
  return {
    lsnBytes,
    ownRecords: Number(row.records),
    ownBytes: Number(row.bytes),
    ownFullPageBytes: Number(row.fpi),
    ownCommitRecords: Number(row.commits),
  };
}
