/**
 * Where the memory manager keeps pages: memories of kind "page" in the process's own
 * namespace (`process:PID`), so the long-term memory's search serves both recall and
 * prefetching. Writing a page and journaling its stub is one operation in one
 * transaction: after a crash the page is either there and journaled, or neither.
 */
import type { Message } from '../../cpu/model.js';
import { addMemories, getMemory } from '../../memory/memory-store.js';
import { searchMemories } from '../../memory/search.js';
import type { PageStub } from '../../memory/working-context.js';
import { processNamespace } from '../../trust/namespaces.js';
import type { Execution } from '../execution.js';
import type { LiveOutcome } from '../operation.js';
import type { Slice } from '../slice.js';

/** Longest excerpt of one page put in the tail by prefetching, in characters. */
const prefetchExcerptChars = 4000;

/** Stores a page (its text and its exact messages) and journals its stub: one operation of `execution`. */
export async function pageOut(
  execution: Execution,
  stub: PageStub,
  text: string,
  messages: readonly Message[],
): Promise<void> {
  await execution.operation(
    { kind: 'step', name: 'aos.page-out' },
    (slice, op) => writePage(slice, op, stub, text, messages),
    () => undefined,
  );
}

async function writePage(
  slice: Slice,
  op: number,
  stub: PageStub,
  text: string,
  messages: readonly Message[],
): Promise<LiveOutcome> {
  const pid = slice.lease.pid;
  const output = { value: stub };
  await slice.resultTransaction(async (tx) => {
    await addMemories(
      tx,
      processNamespace(pid),
      [
        {
          id: stub.id,
          kind: 'page',
          text,
          thread: 'context',
          seq: Number(stub.id.slice(1)),
          sourcePid: pid,
          meta: {
            fromOp: stub.fromOp,
            toOp: stub.toOp,
            summary: stub.summary,
            tokens: stub.tokens,
            messages,
          },
        },
      ],
      { returnMemories: false, embedder: slice.execution.host.embedder },
    );
    await slice.append(
      {
        kind: 'step',
        name: 'aos.page-out',
        status: 'done',
        output,
        op,
        audit: {
          kind: 'page-out',
          data: {
            page: stub.id,
            fromOp: stub.fromOp,
            toOp: stub.toOp,
            messages: stub.messages,
            tokens: stub.tokens,
          },
        },
      },
      tx,
    );
  });
  return { kind: 'done', recorded: { status: 'done', output, usage: null } };
}

/**
 * The pages that best match `query`, as much as fits in `room` tokens (about four
 * characters a token), for the tail of the next request. Live only: what it found is
 * journaled with the call, never looked up again on replay.
 */
export async function prefetchPages(
  execution: Execution,
  query: string,
  room: number,
  ids?: readonly string[],
): Promise<{ id: string; text: string }[]> {
  const namespace = processNamespace(execution.pid);
  let found: { id: string; text: string }[];
  if (ids !== undefined) {
    found = [];
    for (const id of ids) found.push(await getMemory(execution.host.db, namespace, id));
  } else {
    if (query.trim() === '' || room <= 0) return [];
    found = await searchMemories(execution.host.db, {
      namespaces: [namespace],
      query,
      k: 2,
      kinds: ['page'],
      expandNeighbours: false,
      embedder: execution.host.embedder,
    });
  }
  const pages: { id: string; text: string }[] = [];
  let left = room * 4;
  for (const page of found) {
    const excerpt =
      page.text.length > prefetchExcerptChars
        ? `${page.text.slice(0, prefetchExcerptChars)}\n[...]`
        : page.text;
    if (excerpt.length > left) break;
    left -= excerpt.length;
    pages.push({ id: page.id, text: excerpt });
  }
  return pages;
}
