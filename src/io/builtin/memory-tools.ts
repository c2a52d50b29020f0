/**
 * The memory tools: remember, recall (by id or by query) and forget, acting within the
 * process's namespaces: its own (process:PID), its agent's (agent:NAME) and its owner's
 * (owner:NAME). A tool argument may name one of those; any other is a `forbidden` result.
 * Failures are results for the model, never exceptions.
 */
import { z } from 'zod';
import { AosError } from '../../errors.js';
import type { Embedder } from '../../memory/embedder.js';
import { addMemories, forgetMemories, getMemory } from '../../memory/memory-store.js';
import { searchMemories } from '../../memory/search.js';
import { existingNamespaces, processNamespaces } from '../../trust/namespaces.js';
import {
  defineTool,
  errorResult,
  type Tool,
  type ToolContext,
  type ToolOutcome,
  textResult,
} from '../tool.js';

const namespaceArgument = z
  .string()
  .optional()
  .describe(
    'one of this process’s namespaces: process:PID, agent:NAME or owner:NAME (default: see each tool)',
  );

/** The process's namespaces, most specific first. */
function allowedOf(context: ToolContext): string[] {
  return processNamespaces({
    pid: context.pid,
    agentName: context.process.agent_name,
    owner: context.process.owner,
  });
}

/** The namespaces a call may use: the one it names (if allowed), else `fallback`; a string is a refusal. */
function chosen(context: ToolContext, requested: string | undefined, fallback: string[]): string[] | string {
  const allowed = allowedOf(context);
  if (requested === undefined) return fallback;
  if (!allowed.includes(requested)) {
    return `forbidden: namespace "${requested}" is not this process's; it may use ${allowed.join(', ')}`;
  }
  return [requested];
}

/** Runs a tool body; an AosError becomes an error result "code: message". */
async function asResult(body: () => Promise<ToolOutcome>): Promise<ToolOutcome> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof AosError) return errorResult(`${error.code}: ${error.message}`);
    throw error;
  }
}

/** The memory tools, embedding with `embedder`. */
export function memoryTools(embedder: Embedder): Tool[] {
  const remember = defineTool({
    name: 'remember',
    description:
      'Store a text in long-term memory, to recall later (also in later runs of this agent). Default namespace: agent:NAME.',
    input: z.object({
      text: z.string().min(1),
      kind: z.enum(['episode', 'fact', 'procedure']).optional().describe('default episode'),
      importance: z.number().min(0).max(1).optional().describe('0 to 1, default 0.5'),
      id: z.string().min(1).max(200).optional().describe('an id to recall it by (default generated)'),
      thread: z.string().min(1).optional(),
      namespace: namespaceArgument,
    }),
    annotations: {},
    run: (input, context) =>
      asResult(async () => {
        const target = chosen(context, input.namespace, [allowedOf(context)[1]!]);
        if (typeof target === 'string') return errorResult(target);
        const [memory] = await addMemories(
          context.db,
          target[0]!,
          [
            {
              text: input.text,
              kind: input.kind,
              importance: input.importance,
              id: input.id,
              thread: input.thread,
              sourcePid: context.pid,
            },
          ],
          { embedder },
        );
        const output = { namespace: memory!.namespace, id: memory!.id };
        return textResult(JSON.stringify(output), output);
      }),
  });

  const recall = defineTool({
    name: 'recall',
    description:
      'Find memories: by id (e.g. a page id "p7"), or by query (words or a question). Searches this process’s, its agent’s and its owner’s namespaces unless one is named.',
    input: z
      .object({
        id: z.string().min(1).optional(),
        query: z.string().min(1).optional(),
        k: z.number().int().min(1).max(50).optional().describe('results for a query, default 5'),
        kinds: z.array(z.enum(['episode', 'fact', 'procedure', 'page'])).optional(),
        namespace: namespaceArgument,
      })
      .refine((input) => (input.id === undefined) !== (input.query === undefined), {
        message: 'give either id or query',
      }),
    annotations: { readOnly: true, idempotent: true },
    run: (input, context) =>
      asResult(async () => {
        const target = chosen(context, input.namespace, allowedOf(context));
        if (typeof target === 'string') return errorResult(target);
        const namespaces =
          input.namespace === undefined ? await existingNamespaces(context.db, target) : target;
        if (input.id !== undefined) {
          if (namespaces.length === 0)
            return errorResult(`not_found: no memory "${input.id}" (nothing remembered yet)`);
          const memory = await getMemory(context.db, namespaces, input.id, { touch: true });
          const output = {
            namespace: memory.namespace,
            id: memory.id,
            kind: memory.kind,
            text: memory.text,
            time: memory.time,
          };
          return textResult(JSON.stringify(output), output);
        }
        if (namespaces.length === 0) return textResult('[]', []);
        const results = await searchMemories(context.db, {
          namespaces,
          query: input.query!,
          k: input.k ?? 5,
          kinds: input.kinds,
          embedder,
        });
        const output = results.map((result) => ({
          namespace: result.namespace,
          id: result.id,
          kind: result.kind,
          text: result.text,
          time: result.time,
          score: Number(result.score.toFixed(5)),
        }));
        return textResult(JSON.stringify(output), output);
      }),
  });

  const forget = defineTool({
    name: 'forget',
    description:
      'Delete a memory by id, from the named namespace or the first of this process’s that has it.',
    input: z.object({ id: z.string().min(1), namespace: namespaceArgument }),
    annotations: { destructive: true, idempotent: true },
    run: (input, context) =>
      asResult(async () => {
        const target = chosen(context, input.namespace, allowedOf(context));
        if (typeof target === 'string') return errorResult(target);
        for (const namespace of await existingNamespaces(context.db, target)) {
          const gone = await forgetMemories(context.db, namespace, [input.id]);
          if (gone.length > 0) {
            const output = { namespace, id: input.id, forgotten: true };
            return textResult(JSON.stringify(output), output);
          }
        }
        return errorResult(`not_found: no memory "${input.id}" in ${target.join(', ')}`);
      }),
  });

  return [remember, recall, forget];
}
