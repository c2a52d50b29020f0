/** cpu, cpu set, budget: the model endpoints (devices), their limits and prices, and owner budgets. */
import { z } from 'zod';
import { deviceSchema, listDevices, setDevice } from '../cpu/devices.js';
import { setOwnerBudget } from '../process/budgets.js';
import { defineSyscall } from './syscall.js';

const deviceUseSchema = deviceSchema.extend({
  requestsLastMinute: z.number().int(),
  tokensLastMinute: z.number().int(),
  inFlight: z.number().int(),
  waiting: z.number().int().describe('processes parked until a slot frees up'),
  state: z
    .enum(['up', 'down'])
    .describe("the device's circuit breaker: down after a failed call, up when a probe answers"),
  downSince: z.date().nullable(),
  lastError: z
    .object({ code: z.string(), message: z.string(), status: z.number().int().optional() })
    .nullable()
    .describe('the last failure of a call to the device'),
  nextProbeAt: z.date().nullable().describe('when a process next tries the device, while it is down'),
  parked: z.number().int().describe('processes parked until the device answers again'),
});

export const cpuSyscall = defineSyscall({
  name: 'cpu',
  summary:
    'List devices (model endpoints): limits, prices, live use over the last minute, and state (up, or down since, last error, next probe)',
  input: z.object({}).strict(),
  output: z.array(deviceUseSchema),
  capability: 'cpu.read',
  readOnly: true,
  errors: [],
  async handler(context) {
    return listDevices(context.db);
  },
});

// "none" clears a limit. Null is accepted too, so that parsing twice (CLI, then dispatch) gives the same value.
const limit = z
  .union([z.literal('none'), z.null(), z.coerce.number().int().positive().max(1_000_000_000)])
  .transform((value) => (value === 'none' ? null : value));
// USD per million tokens, up to $0.10 a token: costs stay exact integers of nano-dollars.
const price = z.coerce.number().min(0).max(100_000);

export const cpuSetSyscall = defineSyscall({
  name: 'cpu set',
  summary: 'Create or change a device: limits shared by every worker, and prices (USD per million tokens)',
  input: z
    .object({
      name: z.string().describe('a model string (openai:gpt-4o-mini) or a prefix ending in * (openai:*)'),
      maxConcurrent: limit.optional().describe('requests in flight at once, or "none"'),
      rpm: limit.optional().describe('requests per minute, or "none"'),
      tpm: limit.optional().describe('input tokens per minute, or "none"'),
      inputPrice: price.optional().describe('USD per million uncached input tokens'),
      cachedInputPrice: price.optional().describe('USD per million cached input tokens'),
      cacheWritePrice: price.optional().describe('USD per million tokens written to the cache'),
      outputPrice: price.optional().describe('USD per million output tokens'),
    })
    .strict(),
  output: deviceSchema,
  capability: 'cpu.configure',
  errors: ['invalid_input'],
  async handler(context, input) {
    const device = await setDevice(context.db, input.name, {
      ...(input.maxConcurrent === undefined ? {} : { maxConcurrent: input.maxConcurrent }),
      ...(input.rpm === undefined ? {} : { requestsPerMinute: input.rpm }),
      ...(input.tpm === undefined ? {} : { tokensPerMinute: input.tpm }),
      ...(input.inputPrice === undefined ? {} : { inputPrice: input.inputPrice }),
      ...(input.cachedInputPrice === undefined ? {} : { cachedInputPrice: input.cachedInputPrice }),
      ...(input.cacheWritePrice === undefined ? {} : { cacheWritePrice: input.cacheWritePrice }),
      ...(input.outputPrice === undefined ? {} : { outputPrice: input.outputPrice }),
    });
    context.poke();
    return device;
  },
});

export const budgetSyscall = defineSyscall({
  name: 'budget',
  summary: "Set an owner's budget across all its processes (tokens, cost); reaching it raises XCPU",
  input: z
    .object({
      owner: z.string().min(1).describe('the owner (processes started from the CLI belong to "local")'),
      maxTokens: limit.optional().describe('tokens, or "none"'),
      maxCost: z
        .union([z.literal('none'), z.null(), z.coerce.number().positive()])
        .transform((value) => (value === 'none' ? null : value))
        .optional()
        .describe('USD, or "none"'),
    })
    .strict(),
  output: z.object({
    owner: z.string(),
    maxTokens: z.number().int().nullable(),
    maxCost: z.number().nullable(),
  }),
  capability: 'cpu.configure',
  errors: ['invalid_input'],
  async handler(context, input) {
    await setOwnerBudget(context.db, input.owner, input.maxTokens ?? null, input.maxCost ?? null);
    return { owner: input.owner, maxTokens: input.maxTokens ?? null, maxCost: input.maxCost ?? null };
  },
});
