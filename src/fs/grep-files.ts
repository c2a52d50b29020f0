/**
 * Searching the latest versions of text files, line by line, for a regular expression
 * (PostgreSQL's, run in the database: no pattern can stall a worker) or a fixed string.
 * Binary files and removed files are not searched.
 */
import { AosError } from '../errors.js';
import type { Queryable } from '../storage/db.js';
import { checkNamespaceName, requireNamespace } from '../trust/namespaces.js';
import { normaliseDirectoryPath, subtreeRange } from './paths.js';

/** What to search for. */
export interface GrepFilesInput {
  namespace: string;
  /** A regular expression (PostgreSQL's syntax, close to Perl's; \y is a word boundary) or, with `fixed`, a string. */
  pattern: string;
  /** Search this directory's files (or this one file); default "/". */
  path?: string;
  /** Take the pattern as a plain string. */
  fixed?: boolean;
  ignoreCase?: boolean;
  /** Stop after this many matching lines; default 500. */
  maxMatches?: number;
}

/** One matching line. */
export interface GrepMatch {
  path: string;
  version: number;
  /** 1-based line number. */
  line: number;
  /** The line, cut at 1,000 characters. */
  text: string;
}

/** What a search found. */
export interface GrepResult {
  matches: GrepMatch[];
  /** True when there were more than maxMatches matching lines. */
  truncated: boolean;
}

/** Characters of a matching line that a match shows. */
export const maxLineChars = 1000;

// Fixed SQL fragments, chosen by flags (never built from input). A fixed string is looked
// for in the whole file first, so files without it are never split into lines.
const lineTests = {
  regex: 'l.body ~ $6',
  regexIgnoreCase: 'l.body ~* $6',
  fixed: 'strpos(f.content, $6) > 0 and strpos(l.body, $6) > 0',
  fixedIgnoreCase: 'strpos(lower(f.content), lower($6)) > 0 and strpos(lower(l.body), lower($6)) > 0',
} as const;

/**
 * Lines of the latest text files under `path` that match, sorted by path then line.
 * `invalid_input` for a malformed pattern, `not_found` for an unknown namespace.
 */
export async function grepFiles(db: Queryable, input: GrepFilesInput): Promise<GrepResult> {
  const namespace = checkNamespaceName(input.namespace);
  const directory = normaliseDirectoryPath(input.path ?? '/');
  const maxMatches = input.maxMatches ?? 500;
  if (input.pattern === '') {
    throw new AosError('invalid_input', 'the pattern is empty', { hint: 'give a pattern, e.g. TODO' });
  }
  if (!input.fixed) checkPattern(input.pattern);
  await requireNamespace(db, namespace);
  const test = input.fixed
    ? input.ignoreCase
      ? lineTests.fixedIgnoreCase
      : lineTests.fixed
    : input.ignoreCase
      ? lineTests.regexIgnoreCase
      : lineTests.regex;
  const { low, high } = subtreeRange(directory);
  try {
    const result = await db.query<GrepMatch>(
      `select h.path, h.version, l.number as line, left(l.body, ${maxLineChars}) as text
         from aos.file_heads h
         join aos.files f on f.namespace = h.namespace and f.path = h.path and f.version = h.version
        cross join lateral string_to_table(
               case when right(f.content, 1) = e'\\n' then left(f.content, -1) else f.content end,
               e'\\n') with ordinality as l (body, number)
        where h.namespace = $1 and h.kind = 'text'
          and (h.path = $2 or (h.path >= $3 and h.path < $4))
          and ${test}
        order by h.path, l.number
        limit $5`,
      [namespace, directory, low, high, maxMatches + 1, input.pattern],
    );
    const matches = result.rows.slice(0, maxMatches).map((row) => ({
      path: row.path,
      version: Number(row.version),
      line: Number(row.line),
      text: row.text,
    }));
    return { matches, truncated: result.rows.length > maxMatches };
  } catch (error) {
    // 2201B: invalid_regular_expression.
    if ((error as { code?: unknown }).code === '2201B') {
      throw new AosError('invalid_input', `not a valid regular expression: ${(error as Error).message}`, {
        hint: 'patterns use PostgreSQL regular expressions; or search for the plain text with --fixed',
        cause: error,
      });
    }
    throw error;
  }
}

/** Refuses what PostgreSQL's syntax reads differently from Perl's, rather than matching nothing. */
function checkPattern(pattern: string): void {
  if (/(^|[^\\])(\\\\)*\\b/.test(pattern)) {
    throw new AosError(
      'invalid_input',
      'in PostgreSQL regular expressions \\b is a backspace, not a word boundary',
      {
        hint: 'write \\y for a word boundary (\\m for the start of a word, \\M for its end)',
      },
    );
  }
}
