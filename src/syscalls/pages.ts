/** pages, recall: what the memory manager paged out of a process's context, and finding it again. */
import { z } from 'zod';
import { AosError } from '../errors.js';
import { listMemories } from '../memory/memory-store.js';
import { recallMemories } from '../memory/recall.js';
import { getProcessRow } from '../process/process-table.js';
import { processNamespace, processNamespaces } from '../trust/namespaces.js';
import { pidSchema } from './schemas.js';
import { defineSyscall } from './syscall.js';

export const pagesSyscall = defineSyscall({
  name: 'pages',
  summary: "List the pages the memory manager wrote from a process's context: id, range, size, summary",
  input: z.object({ pid: pidSchema.describe('the process') }).strict(),
  output: z.array(
    z.object({
      id: z.string(),
      fromOp: z.number().int(),
      toOp: z.number().int(),
      tokens: z.number().int(),
      messages: z.number().int(),
      summary: z.string(),
      createdAt: z.string(),
    }),
  ),
  cli: { positional: ['pid'], examples: ['aos pages 12', 'aos pages 12 --json'] },
  capability: 'memory.read',
  reaches: (input) => ({ namespaces: [processNamespace(input.pid)] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found'],
  async handler(context, input) {
    await getProcessRow(context.db, input.pid);
    const namespace = processNamespace(input.pid);
    const exists = await context.db.query('select 1 from aos.namespaces where name = $1', [namespace]);
    if (exists.rowCount === 0) return [];
    const pages = await listMemories(context.db, {
      namespace,
      kind: 'page',
      thread: 'context',
      limit: 100_000,
    });
    return pages.map((page) => {
      const meta = page.meta as {
        fromOp?: number;
        toOp?: number;
        tokens?: number;
        summary?: string;
        messages?: unknown[];
      };
      return {
        id: page.id,
        fromOp: meta.fromOp ?? 0,
        toOp: meta.toOp ?? 0,
        tokens: meta.tokens ?? 0,
        messages: meta.messages?.length ?? 0,
        summary: meta.summary ?? '',
        createdAt: page.createdAt,
      };
    });
  },
});

export const recallSyscall = defineSyscall({
  name: 'recall',
  summary:
    "Find what a process remembers: a page by id (p3), or pages and memories by query, in the process's, its agent's and its owner's namespaces",
  input: z
    .object({
      pid: pidSchema.describe('the process'),
      query: z.string().min(1).describe('a page or memory id (p3), or words to search for'),
      k: z.coerce.number().int().min(1).max(100).default(5).describe('how many results for a query'),
      ns: z
        .string()
        .min(1)
        .optional()
        .describe("only this one of the process's namespaces (default: all three)"),
    })
    .strict(),
  output: z.array(
    z.object({
      namespace: z.string(),
      id: z.string(),
      kind: z.string(),
      score: z.number().nullable(),
      text: z.string(),
    }),
  ),
  cli: {
    positional: ['pid', 'query'],
    examples: [
      'aos recall 12 p3',
      'aos recall 12 "what did the logs say about the outage"',
      'aos recall 12 vault --k 3 --json',
    ],
  },
  tool: {
    description:
      'Find memories: by id (e.g. a page id "p7"), or by query (words or a question), in this process’s, its agent’s and its owner’s namespaces (or only the one named by ns).',
    fields: ['query', 'k', 'ns'],
    given: (caller) => ({ pid: caller.pid }),
    annotations: { readOnly: true, idempotent: true },
    // Earlier agent files call recall {"id": "p7"} or name a namespace.
    renamed: { id: 'query', namespace: 'ns' },
  },
  capability: 'memory.read',
  reaches: (input) => ({ namespaces: [input.ns ?? processNamespace(input.pid)] }),
  readOnly: true,
  errors: ['invalid_input', 'not_found', 'forbidden'],
  async handler(context, input) {
    const process = await getProcessRow(context.db, input.pid);
    const namespaces = processNamespaces({
      pid: process.pid,
      agentName: process.agent_name,
      owner: process.owner,
    });
    if (input.ns !== undefined && !namespaces.includes(input.ns)) {
      throw new AosError(
        'invalid_input',
        `recall: ${input.ns} is not one of process ${input.pid}'s namespaces`,
        {
          hint: `use one of: ${namespaces.join(', ')}`,
        },
      );
    }
    const chosen = input.ns === undefined ? namespaces : [input.ns];
    return recallMemories(context.db, chosen, input.query, { k: input.k, embedder: context.embedder });
  },
});
