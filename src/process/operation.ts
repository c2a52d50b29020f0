/**
 * The shapes an operation's live part works with: what it journaled (the same shape
 * replay reads back, so a live result and a replayed one decode alike), and what else
 * it may come to: a block (the process parks until woken), a retry, or the end.
 */
import type { JournalStep } from './journal.js';

/** What a finished operation left in the journal, as the program's result is decoded from it. */
export type Recorded = Pick<JournalStep, 'status' | 'output' | 'usage'>;

/** Why and until when an operation cannot go on: the process parks when all its operations are blocked. */
export interface Block {
  state: 'waiting' | 'sleeping';
  /** message, child, sleep, approval, rate-limit. */
  reason: string;
  /** Journaled in the process's wait_detail, with the call id (deadlines survive restarts). */
  detail: Record<string, unknown>;
  callId: string;
  wakeAt: Date | null;
  /** The device of a rate-limit wait. */
  device?: string;
  /** The process's wake_seq when the operation looked (null: time alone wakes it). */
  seenWakeSeq: number | null;
}

/** How the live part of an operation ended on a slice. */
export type LiveOutcome =
  | { kind: 'done'; recorded: Recorded }
  | { kind: 'blocked'; block: Block }
  /** Interrupted before it produced anything (INT on a model call): through the boundary again. */
  | { kind: 'retry' }
  /** The process exited or the slice lost its lease: the operation never returns. */
  | { kind: 'ended' }
  /** The slice is ending (stop, yield, shutdown): the operation runs on the next one. */
  | { kind: 'suspend' };
