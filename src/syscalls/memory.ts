/** mem add, mem get, mem ls, mem forget, mem search, mem import: long-term memory. */
import { z } from 'zod';
import { AosError } from '../errors.js';
import { memoryKindSchema, memorySchema } from '../memory/memory.js';
import { parseImportFile } from '../memory/memory-lines.js';
import { addMemories, forgetMemories, getMemory, listMemories } from '../memory/memory-store.js';
import { defaultSearchWeights, searchMemories } from '../memory/search.js';
import { contentDigest, defineSyscall } from './syscall.js';

const namespace = z.string().min(1).describe('the namespace, e.g. agent:researcher');
const memoryErrors = ['invalid_input', 'not_found'] as const;

/** A JSON object given as an object or as JSON text (from the command line). */
function jsonObject(what: string) {
  return z.union([
    z.record(z.string(), z.unknown()),
    z.string().transform((text, context) => {
      try {
        const value = JSON.parse(text);
        if (value !== null && typeof value === 'object' && !Array.isArray(value))
          return value as Record<string, unknown>;
      } catch {
        // reported below
      }
      context.addIssue({ code: 'custom', message: `${what} must be a JSON object` });
      return z.NEVER;
    }),
  ]);
}

/** A list given as an array or as comma-separated text. */
function list<T extends z.ZodType<string, string>>(item: T) {
  return z.union([
    z.array(item),
    z
      .string()
      .transform((text) =>
        text
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      )
      .pipe(z.array(item)),
  ]);
}

export const memAddSyscall = defineSyscall({
  name: 'mem add',
  summary: 'Remember a text in a namespace (created at its first write)',
  input: z
    .object({
      ns: namespace,
      text: z.string().min(1).describe('what to remember'),
      id: z
        .string()
        .min(1)
        .max(200)
        .optional()
        .describe('unique in the namespace (default: generated, "m" and a number)'),
      kind: memoryKindSchema.default('episode').describe('episode, fact, procedure or page'),
      time: z.string().optional().describe('when it happened, ISO 8601 (default now)'),
      thread: z.string().min(1).optional().describe('the conversation it belongs to'),
      seq: z.coerce.number().int().optional().describe('its position in the thread'),
      importance: z.coerce.number().min(0).max(1).optional().describe('0 to 1 (default 0.5)'),
      meta: jsonObject('--meta').optional().describe('a JSON object stored with it'),
    })
    .strict(),
  output: memorySchema,
  cli: {
    positional: ['text'],
    examples: [
      'aos mem add --ns agent:researcher "The staging database is read-only on Fridays" --kind fact',
      'aos mem add --ns owner:local "Ada prefers short answers" --id prefs --importance 0.9 --json',
    ],
  },
  tool: {
    description:
      "Store a text in long-term memory, to recall later (also in later runs of this agent). The namespace (ns) is this agent's (agent:NAME) unless it names this process's (process:PID) or its owner's (owner:NAME).",
    fields: ['ns', 'text', 'id', 'kind', 'importance', 'thread'],
    given: (caller) => ({ ns: caller.namespaces[1]! }),
    annotations: {},
    aliases: ['remember'],
    renamed: { namespace: 'ns' },
    text: (memory) => JSON.stringify({ namespace: memory.namespace, id: memory.id }),
  },
  capability: 'memory.write',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: ['invalid_input', 'conflict'],
  // The audit log keeps the memory's size and digest, not its text (nor its meta).
  auditInput: ({ text, meta, ...rest }) => ({
    ...rest,
    text: contentDigest(text),
    ...(meta === undefined ? {} : { meta: contentDigest(JSON.stringify(meta)) }),
  }),
  async handler(context, input, caller) {
    const [memory] = await addMemories(
      context.db,
      input.ns,
      [{ ...input, ...(caller.pid === undefined ? {} : { sourcePid: caller.pid }) }],
      { embedder: context.embedder },
    );
    return memory!;
  },
});

export const memGetSyscall = defineSyscall({
  name: 'mem get',
  summary: 'Show one memory by its id',
  input: z.object({ ns: namespace, id: z.string().min(1).describe('the memory id') }).strict(),
  output: memorySchema,
  cli: {
    positional: ['id'],
    examples: ['aos mem get --ns agent:researcher m12', 'aos mem get --ns process:7 p3 --json'],
  },
  tool: {
    description:
      "Read one memory by its id. The namespace (ns) is this agent's (agent:NAME) unless it names this process's (process:PID) or its owner's (owner:NAME).",
    fields: ['ns', 'id'],
    given: (caller) => ({ ns: caller.namespaces[1]! }),
    annotations: { readOnly: true, idempotent: true },
    renamed: { namespace: 'ns' },
  },
  capability: 'memory.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: [...memoryErrors],
  handler: (context, input) => getMemory(context.db, input.ns, input.id),
});

export const memListSyscall = defineSyscall({
  name: 'mem ls',
  summary: 'List memories, newest first (a thread in order); all namespaces unless --ns',
  input: z
    .object({
      ns: namespace.optional(),
      kind: memoryKindSchema.optional().describe('only this kind'),
      thread: z.string().min(1).optional().describe('only this conversation, in order'),
      limit: z.coerce
        .number()
        .int()
        .positive()
        .max(10_000)
        .default(50)
        .describe('at most this many (default 50)'),
    })
    .strict(),
  output: z.array(memorySchema),
  cli: {
    positional: [],
    examples: [
      'aos mem ls --ns agent:researcher',
      'aos mem ls --ns bench:c1 --thread s3 --json',
      'aos mem ls --kind fact',
    ],
  },
  capability: 'memory.read',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  readOnly: true,
  errors: [...memoryErrors],
  handler: (context, input) =>
    listMemories(context.db, {
      namespace: input.ns,
      kind: input.kind,
      thread: input.thread,
      limit: input.limit,
    }),
});

export const memForgetSyscall = defineSyscall({
  name: 'mem forget',
  summary: 'Forget (delete) a memory',
  input: z.object({ ns: namespace, id: z.string().min(1).describe('the memory id') }).strict(),
  output: z.object({ namespace: z.string(), id: z.string(), forgotten: z.literal(true) }),
  cli: { positional: ['id'], examples: ['aos mem forget --ns agent:researcher m12'] },
  tool: {
    description:
      "Delete a memory by id. The namespace (ns) is this agent's (agent:NAME) unless it names this process's (process:PID) or its owner's (owner:NAME).",
    fields: ['ns', 'id'],
    given: (caller) => ({ ns: caller.namespaces[1]! }),
    // Forgetting twice leaves the same memories, but the second call is not_found: not re-run after a crash.
    annotations: { destructive: true },
    aliases: ['forget'],
    renamed: { namespace: 'ns' },
  },
  capability: 'memory.write',
  reaches: (input) => ({ namespaces: [input.ns ?? '*'] }),
  errors: [...memoryErrors],
  async handler(context, input) {
    const gone = await forgetMemories(context.db, input.ns, [input.id]);
    if (gone.length === 0) {
      throw new AosError('not_found', `no memory "${input.id}" in ${input.ns}`, {
        hint: `list memories with: aos mem ls --ns ${input.ns}`,
      });
    }
    return { namespace: input.ns, id: input.id, forgotten: true as const };
  },
});

/** The search weights a caller may set (see docs/memory.md); unknown names are refused. */
const weightsSchema = z
  .object(
    Object.fromEntries(
      Object.entries(defaultSearchWeights).map(([name, value]) => [
        name,
        typeof value === 'number' ? z.number().min(0) : z.enum(['bm25', 'ts_rank']),
      ]),
    ) as Record<string, z.ZodType>,
  )
  .partial()
  .strict();

/** A search result as printed: the memory, its fused score and which retrievers found it. */
export const searchResultSchema = memorySchema.extend({
  score: z.number(),
  via: z.array(z.enum(['text', 'vector', 'neighbour'])),
});

export const memSearchInputSchema = z
  .object({
    ns: list(namespace).describe('the namespaces to search, comma-separated'),
    query: z.string().describe('what to look for, in words'),
    k: z.coerce.number().int().positive().max(1000).default(10).describe('how many results (default 10)'),
    kind: list(memoryKindSchema).optional().describe('only these kinds, comma-separated'),
    neighbours: z.coerce
      .number()
      .int()
      .min(0)
      .max(20)
      .optional()
      .describe(
        `add turns this close in the same thread to hits (0: none; default ${defaultSearchWeights.neighbourWindow})`,
      ),
    weights: jsonObject('--weights')
      .pipe(weightsSchema)
      .optional()
      .describe('ranking weights as JSON, e.g. {"recency":0}'),
  })
  .strict();

export const memSearchSyscall = defineSyscall({
  name: 'mem search',
  summary: 'Search memories by meaning and words (full text and vectors, fused)',
  input: memSearchInputSchema,
  output: z.array(searchResultSchema),
  capability: 'memory.read',
  reaches: (input) => ({ namespaces: input.ns }),
  readOnly: true,
  errors: [...memoryErrors],
  handler: (context, input) =>
    searchMemories(context.db, {
      namespaces: input.ns,
      query: input.query,
      k: input.k,
      kinds: input.kind,
      expandNeighbours: input.neighbours,
      weights: input.weights,
      embedder: context.embedder,
    }),
});

export const memImportSyscall = defineSyscall({
  name: 'mem import',
  summary: 'Import memories from JSON lines, all or nothing (aos mem import reads them from a host file)',
  input: z
    .object({
      ns: namespace,
      lines: z
        .string()
        .describe('JSON lines: {"id","text","time"?,"thread"?,"seq"?,"kind"?,"importance"?,"meta"?}'),
      source: z.string().min(1).default('input').describe('what errors name the lines by (a file name)'),
    })
    .strict(),
  output: z.object({
    namespace: z.string(),
    imported: z.number().int(),
    embeddingModel: z.string().nullable(),
  }),
  capability: 'memory.write',
  reaches: (input) => ({ namespaces: [input.ns] }),
  errors: ['invalid_input', 'conflict'],
  // The audit log keeps the lines' size and digest, not the memories.
  auditInput: ({ lines, ...rest }) => ({ ...rest, lines: contentDigest(lines) }),
  async handler(context, input, caller) {
    const items = parseImportFile(input.lines, input.source);
    const sourcePid = caller.pid;
    await addMemories(
      context.db,
      input.ns,
      items.map((item) => (sourcePid === undefined ? item : { ...item, sourcePid })),
      { embedder: context.embedder, returnMemories: false },
    );
    const model = await context.db.query<{ embedding_model: string | null }>(
      'select embedding_model from aos.memories where namespace = $1 order by id desc limit 1',
      [input.ns],
    );
    return {
      namespace: input.ns,
      imported: items.length,
      embeddingModel: model.rows[0]?.embedding_model ?? null,
    };
  },
});
