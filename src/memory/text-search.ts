/**
 * Full-text retrieval in PostgreSQL: the query's lexemes (configuration aos.english_words,
 * migration 0012: words as written, lower-cased, english stop words dropped, no stemming,
 * which conflated the words that tell memories apart) joined with OR, so a memory matching any of them is a candidate (AND-style
 * queries miss most questions), ranked by BM25 over the lexemes of the generated tsvector:
 * rare words count more than common ones (ts_rank knows no document frequency; it is kept
 * as an option for comparison). Question words (question-words.ts) are dropped from the query.
 * A query of only stop words has no lexemes: no candidates. Each BM25 hit carries its thread's length
 * and the frequency of each query lexeme in it, which conversation-context.ts scores sessions with.
 */
import type { Queryable } from '../storage/db.js';
import {
  type Candidate,
  type CandidateRow,
  candidateColumns,
  changesColumn,
  toCandidate,
} from './candidate.js';
import type { MemoryKind } from './memory.js';
import { questionWords } from './question-words.js';

/** How full-text candidates are ranked and pruned. */
export interface TextSearchOptions {
  namespaces: readonly string[];
  query: string;
  kinds?: readonly MemoryKind[] | undefined;
  /** How many candidates to return. */
  limit: number;
  /** Memories in the namespaces (for document frequencies). */
  documentCount: number;
  /** 'bm25' (default) or PostgreSQL's 'ts_rank'. */
  ranking?: 'bm25' | 'ts_rank';
  /** BM25 term-frequency saturation; default 1.2. */
  k1?: number;
  /** BM25 length normalization; default 0.75. */
  b?: number;
  /**
   * A lexeme in more than this share of the memories does not make a memory a candidate
   * (it still adds to the score of candidates found by others); default 0.25.
   */
  commonShare?: number;
}

/** A query lexeme found in the namespaces: its document frequency (counted up to a cap) and BM25 idf. */
export interface QueryLexeme {
  lexeme: string;
  df: number;
  idf: number;
}

/** A full-text hit: its BM25 score and each query lexeme's frequency in it. */
export interface TextHit extends Candidate {
  /** Memories in its thread (0 outside any thread): its session's length. */
  threadLength: number;
  /** Aligned with the query's lexemes. */
  frequencies: number[];
}

/** The hits, best first, and the query lexemes their frequencies are aligned with. */
export interface TextCandidates {
  hits: TextHit[];
  lexemes: QueryLexeme[];
}

/** The query's lexemes with their document frequencies (counted up to `cap`) and tsquery forms. */
async function lexemesOf(
  db: Queryable,
  namespaces: readonly string[],
  query: string,
  cap: number,
): Promise<{ lexeme: string; term: string; df: number }[]> {
  // A lexeme as a tsquery term: quoted, with quotes and backslashes doubled (chr(39) ', chr(92) \).
  const result = await db.query<{ lexeme: string; term: string; df: number }>(
    `select t.lexeme, q.term,
            (select count(*) from (select 1 from aos.memories m
                                    where m.namespace = any($2) and m.search @@ q.term::tsquery
                                    limit $3) c)::int as df
       from unnest(to_tsvector('aos.english_words', $1)) t,
            lateral (select chr(39) || replace(replace(t.lexeme, chr(92), chr(92) || chr(92)), chr(39), chr(39) || chr(39))
                            || chr(39) as term) q`,
    [query, namespaces, cap],
  );
  return result.rows.filter((row) => !questionWords.has(row.lexeme));
}

/** The best `limit` full-text candidates, best first (ties by id). */
export async function textCandidates(db: Queryable, options: TextSearchOptions): Promise<TextCandidates> {
  const total = Math.max(options.documentCount, 1);
  const commonShare = options.commonShare ?? 0.25;
  const cap = Math.max(100, Math.ceil(total * commonShare) + 1);
  const lexemes = await lexemesOf(db, options.namespaces, options.query, cap);
  const present = lexemes.filter((lexeme) => lexeme.df > 0);
  if (present.length === 0) return { hits: [], lexemes: [] };
  // Common lexemes would make most memories candidates and add little: keep them for scoring only.
  const selective = present.filter((lexeme) => lexeme.df <= total * commonShare);
  const finders =
    selective.length > 0
      ? selective
      : [present.reduce((rarest, each) => (each.df < rarest.df ? each : rarest))];
  const tsquery = finders.map((lexeme) => lexeme.term).join(' | ');
  const kinds = options.kinds === undefined || options.kinds.length === 0 ? null : options.kinds;
  if (options.ranking === 'ts_rank') {
    const ranked = await db.query<CandidateRow>(
      `select ${candidateColumns}, ${changesColumn()}, ts_rank(m.search, $2::tsquery) as score
         from aos.memories m
        where m.namespace = any($1) and m.search @@ $2::tsquery and ($3::text[] is null or m.kind = any($3))
        order by score desc, m.id limit $4`,
      [options.namespaces, tsquery, kinds, options.limit],
    );
    // ts_rank knows no frequencies: the hits carry none.
    return {
      hits: ranked.rows.map((row) => ({ ...toCandidate(row), threadLength: 0, frequencies: [] })),
      lexemes: [],
    };
  }
  // BM25's idf, never negative: ln(1 + (N - df + 0.5) / (df + 0.5)).
  const idf = present.map((lexeme) => Math.log(1 + (total - lexeme.df + 0.5) / (lexeme.df + 0.5)));
  // Scored over every candidate; each query lexeme's frequency only in the `limit` kept.
  const ranked = await db.query<CandidateRow & { frequencies: number[]; thread_length: number }>(
    `with candidates as (
       select ${candidateColumns}, m.search, length(m.search)::float8 as length
         from aos.memories m
        where m.namespace = any($1) and m.search @@ $2::tsquery and ($3::text[] is null or m.kind = any($3))
     ), average as (select avg(length) as length from candidates),
     scored as (
       select m.id, m.namespace, m.at, m.importance, m.thread, m.seq, m.search,
              (select sum(w.idf * d.tf * ($6::float8 + 1) / (d.tf + $6::float8 * (1 - $7::float8 + $7::float8 * m.length / a.length)))
                 from (select lexeme, coalesce(array_length(positions, 1), 1) as tf from unnest(m.search)) d
                 join unnest($4::text[], $5::float8[]) w (lexeme, idf) on w.lexeme = d.lexeme) as score
         from candidates m, average a
        order by score desc, m.id limit $8
     )
     select s.id, s.namespace, s.at, s.importance, s.thread, s.seq, ${changesColumn('s')}, s.score,
            (select count(*) from aos.memories t where t.namespace = s.namespace and t.thread = s.thread)::int
              as thread_length,
            array(select case when d.lexeme is null then 0 else coalesce(array_length(d.positions, 1), 1) end
                    from unnest($4::text[]) with ordinality w (lexeme, n)
                    left join unnest(s.search) d on d.lexeme = w.lexeme order by w.n)::int[] as frequencies
       from scored s
      order by s.score desc, s.id`,
    [
      options.namespaces,
      tsquery,
      kinds,
      present.map((lexeme) => lexeme.lexeme),
      idf,
      options.k1 ?? 1.2,
      options.b ?? 0.75,
      options.limit,
    ],
  );
  return {
    hits: ranked.rows.map((row) => ({
      ...toCandidate(row),
      threadLength: Number(row.thread_length),
      frequencies: row.frequencies.map(Number),
    })),
    lexemes: present.map((lexeme, index) => ({ lexeme: lexeme.lexeme, df: lexeme.df, idf: idf[index]! })),
  };
}
