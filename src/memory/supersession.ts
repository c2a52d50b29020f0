/**
 * Superseded memories: a memory that updates an earlier one on the same subject ranks
 * above it, instead of every newer memory ranking above every older one (the recency
 * weight, which pushed the answers out of conversations that span months). Memory B
 * updates an earlier memory A (both among the first results) when:
 * - B is later (its time is after A's) and in another thread (an update is said in a later
 *   conversation, not in the reply to A);
 * - B says it changes something: it holds a change word ("left", "switched", "postponed",
 *   "instead", "anymore", ...);
 * - B is about the same subject: it holds every query lexeme A holds, and shares with A at
 *   least one lexeme beyond the query's and the change words.
 * "We had to push the Quito trip back to September" updates "We are planning a trip to Quito
 * in January" (later, "push", both "quito", both "trip"). Pure, so bench/memory scores it
 * with the code that uses it.
 */

/** Words that say something changed (lexemes: lower-case, as full text indexes them). */
export const changeWords: ReadonlySet<string> = new Set(
  (
    'switched switch changed change left quit moved postponed push pushed instead anymore longer ' +
    'replaced cancelled canceled rescheduled updated actually'
  ).split(' '),
);

/** What supersession needs to know of a ranked memory. */
export interface Dated {
  id: number;
  at: Date;
  thread: string | null;
  /** Its text's lexemes. */
  lexemes: ReadonlySet<string>;
}

/** Whether `later` updates `earlier`, for a query of `queryLexemes`. */
export function updates(later: Dated, earlier: Dated, queryLexemes: ReadonlySet<string>): boolean {
  if (later.at.getTime() <= earlier.at.getTime()) return false;
  if (later.thread !== null && later.thread === earlier.thread) return false;
  if (![...later.lexemes].some((lexeme) => changeWords.has(lexeme))) return false;
  for (const lexeme of earlier.lexemes)
    if (queryLexemes.has(lexeme) && !later.lexemes.has(lexeme)) return false;
  for (const lexeme of earlier.lexemes) {
    if (!queryLexemes.has(lexeme) && !changeWords.has(lexeme) && later.lexemes.has(lexeme)) return true;
  }
  return false;
}

/**
 * The ranking with each memory that updates one ranked above it moved just before it
 * (the first `depth` are compared; the rest keep their places). Stable otherwise.
 */
export function rankUpdatesFirst<T extends Dated>(
  ranked: readonly T[],
  queryLexemes: ReadonlySet<string>,
  depth: number,
): T[] {
  const order = ranked.slice(0, depth);
  for (let earlier = 0; earlier < order.length; earlier++) {
    for (let later = earlier + 1; later < order.length; later++) {
      if (updates(order[later]!, order[earlier]!, queryLexemes)) {
        const [moved] = order.splice(later, 1);
        order.splice(earlier, 0, moved!);
      }
    }
  }
  return [...order, ...ranked.slice(depth)];
}
