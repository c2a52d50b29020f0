import { describe, expect, it } from 'vitest';
import { type Dated, rankUpdatesFirst, updates } from './supersession.js';

const memory = (id: number, day: number, thread: string | null, text: string): Dated => ({
  id,
  at: new Date(Date.UTC(2026, 0, day)),
  thread,
  lexemes: new Set(text.split(' ')),
});

describe('supersession', () => {
  const query = new Set(['job', 'company']);
  const first = memory(1, 1, 's1', 'started new job acme');
  const update = memory(2, 30, 's2', 'left acme took job initech');

  it('knows an update: later, in another thread, a change word, the same query words and one more in common', () => {
    expect(updates(update, first, query)).toBe(true);
    expect(updates(first, update, query)).toBe(false);
    expect(updates({ ...update, thread: 's1' }, first, query)).toBe(false);
    expect(updates(memory(2, 30, 's2', 'took job initech acme'), first, query)).toBe(false);
    expect(updates(memory(2, 30, 's2', 'left initech took job'), first, query)).toBe(false);
    expect(updates(memory(2, 30, 's2', 'left acme took initech'), first, query)).toBe(false);
    expect(updates({ ...update, thread: null }, { ...first, thread: null }, query)).toBe(true);
  });

  it('moves an update just above what it updates and leaves the rest in place', () => {
    const other = memory(3, 10, 's3', 'job fair');
    const ranked = [other, first, memory(4, 12, 's4', 'job board'), update, memory(5, 40, 's5', 'left')];
    expect(rankUpdatesFirst(ranked, query, 5).map((entry) => entry.id)).toEqual([3, 2, 1, 4, 5]);
    expect(rankUpdatesFirst(ranked, query, 3).map((entry) => entry.id)).toEqual([3, 1, 4, 2, 5]);
  });
});
