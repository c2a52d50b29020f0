/** A memory found by one retriever (full text or vector), with what fusion needs to rank it. */
import { changeWords } from './supersession.js';

/** One retrieved memory: its row id, the retriever's score, and its time, importance and place. */
export interface Candidate {
  id: number;
  namespace: string;
  score: number;
  at: Date;
  importance: number;
  thread: string | null;
  seq: number | null;
  /** Whether its text holds a change word (supersession.ts): only such a memory can update another. */
  changes: boolean;
}

/** A tsquery matching the change words (fixed lower-case words: a safe literal). */
const changeQuery = [...changeWords].join(' | ');

/** The columns a candidate query selects from aos.memories aliased `m` (before the score). */
export const candidateColumns = 'm.id, m.namespace, m.at, m.importance, m.thread, m.seq';

/**
 * The `changes` column of a candidate query, from the tsvector `search` of the row aliased
 * `alias`; selected only for the rows kept (evaluated on every row of a scan, it made the
 * exact vector scan at 100,000 memories a third slower).
 */
export function changesColumn(alias = 'm'): string {
  return `${alias}.search @@ '${changeQuery}'::tsquery as changes`;
}

/** Database row of a candidate query, as drivers return it. */
export interface CandidateRow {
  id: number;
  namespace: string;
  at: Date | string;
  importance: number | string;
  thread: string | null;
  seq: number | null;
  changes: boolean;
  score: number | string;
}

/** A candidate row as a Candidate (numbers and dates parsed). */
export function toCandidate(row: CandidateRow): Candidate {
  return {
    id: Number(row.id),
    namespace: row.namespace,
    score: Number(row.score),
    at: new Date(row.at),
    importance: Number(row.importance),
    thread: row.thread,
    seq: row.seq,
    changes: row.changes === true,
  };
}
