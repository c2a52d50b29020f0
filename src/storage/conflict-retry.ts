/**
 * Retrying what PostgreSQL aborted to break a deadlock (SQLSTATE 40P01) or a
 * serialization conflict (40001): the work was rolled back whole, so running it again
 * is safe, and it normally succeeds. These are never failures of the caller's work.
 */
import { AosError } from '../errors.js';

/** SQLSTATEs after which a statement or a transaction is run again. */
const conflictSqlStates = new Set(['40P01', '40001']);

/** How many times in all a statement or a transaction runs before its conflict is reported. */
export const conflictAttempts = 5;

/** The SQLSTATE of a driver error, or of the driver error an AosError wraps. */
export function sqlStateOf(error: unknown): string | undefined {
  for (
    let current = error, depth = 0;
    depth < 4 && typeof current === 'object' && current !== null;
    depth++
  ) {
    const { code } = current as { code?: unknown };
    if (!(current instanceof AosError) && typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Whether `error` is a deadlock or a serialization failure, so retrying can succeed. */
export function isConflict(error: unknown): boolean {
  const state = sqlStateOf(error);
  return state !== undefined && conflictSqlStates.has(state);
}

/**
 * Runs `attempt` until it does not fail with a conflict, at most `conflictAttempts`
 * times, with a short jittered backoff (a few ms, doubling to ~50 ms) so the two sides
 * of a deadlock do not meet again; the last conflict becomes `unavailable` (retryable).
 */
export async function retryingConflicts<T>(attempt: () => Promise<T>, location: string): Promise<T> {
  for (let number = 1; ; number++) {
    try {
      return await attempt();
    } catch (error) {
      if (!isConflict(error)) throw error;
      if (number >= conflictAttempts) throw conflictPersisted(error, location);
      const ceiling = Math.min(50, 4 * 2 ** number);
      await new Promise((resolve) => setTimeout(resolve, 1 + Math.random() * ceiling));
    }
  }
}

function conflictPersisted(error: unknown, location: string): AosError {
  const cause = error instanceof AosError && error.cause !== undefined ? error.cause : error;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AosError(
    'unavailable',
    `the database at ${location} aborted this work ${conflictAttempts} times to resolve conflicts with concurrent work: ${reason}`,
    {
      hint: 'the database is under heavy contention; retry shortly',
      retryable: true,
      cause,
      details: { sqlstate: sqlStateOf(error) },
    },
  );
}
