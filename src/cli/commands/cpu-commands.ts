/** cpu, cpu set, budget: devices, their limits and prices, and owner budgets. */
import { budgetSyscall, cpuSetSyscall, cpuSyscall } from '../../syscalls/cpu.js';
import { syscallCommand } from '../command.js';

const limitText = (value: number | null) => (value === null ? '-' : String(value));
/** A configured limit, with the lower one the provider announced after it: "500 (400)". */
const withAnnounced = (value: number | null, announced: number | null) =>
  announced === null || announced === value ? limitText(value) : `${limitText(value)} (${announced})`;
const timeText = (value: Date | null) => (value === null ? '-' : value.toISOString().replace(/\.\d+Z$/, 'Z'));

export const cpuCommand = syscallCommand(cpuSyscall, {
  positional: [],
  examples: ['aos cpu', 'aos cpu --json'],
  format(devices) {
    if (devices.length === 0)
      return 'no devices configured, none has failed; add one with: aos cpu set openai:* --rpm 500 --tpm 200000';
    const header = [
      'DEVICE',
      'CONC',
      'RPM',
      'TPM',
      'REQ/MIN',
      'TOK/MIN',
      'IN FLIGHT',
      'WAITING',
      'PRICE in/cached/out',
      'STATE',
    ];
    const rows = devices.map((device) => [
      device.name,
      limitText(device.maxConcurrent),
      withAnnounced(device.requestsPerMinute, device.announcedRequestsPerMinute),
      withAnnounced(device.tokensPerMinute, device.announcedTokensPerMinute),
      String(device.requestsLastMinute),
      String(device.tokensLastMinute),
      String(device.inFlight),
      String(device.waiting),
      `${device.inputPrice}/${device.cachedInputPrice}/${device.outputPrice}`,
      device.state === 'up' ? 'up' : `down since ${timeText(device.downSince)}`,
    ]);
    const down = devices.flatMap((device) =>
      device.state === 'down'
        ? [
            `${device.name}: down since ${timeText(device.downSince)}, ${device.parked} processes parked, next probe ${timeText(device.nextProbeAt)}; last error: ${device.lastError?.message ?? '-'}`,
          ]
        : [],
    );
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => row[column]!.length)),
    );
    const table = [header, ...rows].map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    );
    return [...table, ...(down.length === 0 ? [] : ['', ...down])].join('\n');
  },
});

export const cpuSetCommand = syscallCommand(cpuSetSyscall, {
  positional: ['name'],
  examples: [
    'aos cpu set openai:* --rpm 500 --tpm 200000 --max-concurrent 16',
    'aos cpu set openai:gpt-4o-mini --input-price 0.15 --cached-input-price 0.075 --output-price 0.6',
    'aos cpu set anthropic:* --rpm none',
  ],
  format: (device) =>
    `${device.name}: concurrency ${limitText(device.maxConcurrent)}, rpm ${limitText(device.requestsPerMinute)}, ` +
    `tpm ${limitText(device.tokensPerMinute)}; USD per million tokens: input ${device.inputPrice}, ` +
    `cached ${device.cachedInputPrice}, cache write ${device.cacheWritePrice}, output ${device.outputPrice}`,
});

export const budgetCommand = syscallCommand(budgetSyscall, {
  positional: ['owner'],
  examples: [
    'aos budget local --max-cost 5',
    'aos budget team-a --max-tokens 2000000',
    'aos budget local --max-cost none',
  ],
  format: (budget) =>
    budget.maxTokens === null && budget.maxCost === null
      ? `${budget.owner}: no budget`
      : `${budget.owner}: ${budget.maxTokens === null ? '' : `${budget.maxTokens} tokens `}${budget.maxCost === null ? '' : `$${budget.maxCost}`}`.trim(),
});
