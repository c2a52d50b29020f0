/** Signal names and numbers, and sending one through the kernel's SQL function. */
import type { Queryable } from '../storage/db.js';
import type { ProcessState } from './process-table.js';

/** The signals aos delivers, with their Unix numbers (exit status is 128 + number). */
export const signalNumbers = { INT: 2, KILL: 9, TERM: 15, CONT: 18, STOP: 19, XCPU: 24 } as const;

export type SignalName = keyof typeof signalNumbers;

export const signalNames = Object.keys(signalNumbers) as SignalName[];

/** Sends a signal; returns the process's state afterwards. `not_found`, `conflict`, `invalid_input` as SQL raises. */
export async function sendSignal(db: Queryable, pid: number, signal: string): Promise<ProcessState> {
  const result = await db.query<{ state: ProcessState }>('select aos.signal_process($1, $2) as state', [
    pid,
    signal,
  ]);
  return result.rows[0]!.state;
}
