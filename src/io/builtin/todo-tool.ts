/**
 * The todo tool: the agent writes its whole todo list (each item pending, in progress
 * or done), and the kernel recites the current list in the tail of every request, so
 * the plan stays in front of the model however long the run. The list lives in the
 * journal (each call's result), so it survives restarts and replays like everything else.
 */
import { z } from 'zod';
import { defineTool, textResult } from '../tool.js';

const item = z.object({
  text: z.string().min(1).max(500),
  status: z.enum(['pending', 'in_progress', 'done']).default('pending'),
});

export const todoTool = defineTool({
  name: 'todo',
  description:
    'Replace your todo list: give every item, each with its status (pending, in_progress or done). ' +
    'The current list is shown to you at the end of every request.',
  input: z.object({ items: z.array(item).max(100) }),
  annotations: { idempotent: true },
  async run(input) {
    const items = input.items.map((entry) => ({ text: entry.text, status: entry.status ?? 'pending' }));
    const open = items.filter((entry) => entry.status !== 'done').length;
    return textResult(`todo list saved: ${items.length} items, ${open} open`, { items });
  },
});
