/** top: a live view of processes (state, wait reason, tokens/s, cost) and devices; --json gives one snapshot. */
import { z } from 'zod';
import type { Kernel } from '../../kernel.js';
import { processSchema } from '../../syscalls/schemas.js';
import { defineCommand } from '../command.js';
import { printable } from '../format.js';

const rowSchema = processSchema.extend({
  tokensPerSecond: z.number().describe('over the last refresh, or since start for a snapshot'),
});

const snapshotSchema = z.object({
  at: z.string(),
  processes: z.array(rowSchema),
  totals: z.object({
    processes: z.number().int(),
    running: z.number().int(),
    tokens: z.number().int(),
    cost: z.number(),
  }),
});

type Snapshot = z.infer<typeof snapshotSchema>;

async function snapshot(
  kernel: Kernel,
  previous: Map<number, number> | undefined,
  seconds: number,
): Promise<Snapshot> {
  const processes = await kernel.call('ps', {});
  const now = Date.now();
  const rows = processes.map((process) => {
    const before = previous?.get(process.pid);
    const lifetime = Math.max(0.001, (now - Date.parse(process.startedAt ?? process.createdAt)) / 1000);
    const rate = before === undefined ? process.tokens / lifetime : (process.tokens - before) / seconds;
    return { ...process, tokensPerSecond: Math.round(rate * 10) / 10 };
  });
  return {
    at: new Date(now).toISOString(),
    processes: rows,
    totals: {
      processes: rows.length,
      running: rows.filter((row) => row.state === 'running').length,
      tokens: rows.reduce((sum, row) => sum + row.tokens, 0),
      cost: rows.reduce((sum, row) => sum + row.cost, 0),
    },
  };
}

function render(view: Snapshot): string {
  const header = ['PID', 'PPID', 'AGENT', 'STATE', 'WAIT', 'STEPS', 'TOKENS', 'TOK/S', 'COST $'];
  const rows = view.processes.map((process) => [
    String(process.pid),
    process.ppid === null ? '-' : String(process.ppid),
    process.agent,
    process.state,
    process.waitReason ?? '',
    String(process.steps),
    String(process.tokens),
    String(process.tokensPerSecond),
    process.cost.toFixed(6),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const lines = [header, ...rows].map((row) =>
    row.map((cell, column) => cell.padEnd(widths[column]!)).join('  '),
  );
  const { totals } = view;
  return [
    `aos top  ${view.at}  ${totals.processes} processes, ${totals.running} running, ${totals.tokens} tokens, $${totals.cost.toFixed(6)}  (Ctrl-C quits)`,
    '',
    ...lines,
  ].join('\n');
}

export const topCommand = defineCommand({
  name: 'top',
  handlesInterruption: true,
  summary: 'A live view of processes: state, wait reason, tokens/s, cost (--json: one snapshot)',
  input: z
    .object({ interval: z.coerce.number().positive().default(1).describe('seconds between refreshes') })
    .strict(),
  positional: [],
  output: snapshotSchema,
  errors: ['invalid_input'],
  examples: ['aos top', 'aos top --interval 5', 'aos top --json'],
  async run(context, input) {
    const kernel = await context.kernel();
    let view = await snapshot(kernel, undefined, input.interval);
    if (context.json || !process.stdout.isTTY) return view;
    while (!context.interrupted.aborted) {
      process.stdout.write(`\x1b[2J\x1b[H${printable(render(view))}\n`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, input.interval * 1000);
        context.interrupted.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        });
      });
      view = await snapshot(
        kernel,
        new Map(view.processes.map((row) => [row.pid, row.tokens])),
        input.interval,
      );
    }
    return view;
  },
  format: render,
});
