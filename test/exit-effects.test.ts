/**
 * Every exit behaves alike (issue 13): a process killed while it waits, which exits in SQL
 * without any worker's slice, still gets its episode and its trace export, through the
 * exit effects queue (migration 0020, src/process/exit-effects.ts).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Embedder } from '../src/memory/embedder.js';
import { HashEmbedder } from '../src/memory/hash-embedder.js';
import { listMemories } from '../src/memory/memory-store.js';
import { type MockOtlpCollector, startMockOtlpCollector } from '../src/testing/index.js';
import { testDatabases } from './support/databases.js';
import { eventually, testKernels } from './support/kernel.js';

describe.each(testDatabases)('exit effects on $name', (database) => {
  const start = testKernels(database);
  let collector: MockOtlpCollector;
  beforeEach(async () => {
    collector = await startMockOtlpCollector();
  });
  afterEach(async () => {
    await collector.close();
  });

  it('writes the episode and exports the trace of a process killed while it waits, as of any exit', async () => {
    const { kernel, agent } = await start({ kernel: { otlp: { url: collector.tracesUrl } } });
    const listener = agent(
      'patient',
      'tools: [recv, finish]\nmemory: { episode: true }',
      ['turns:', '  - tool_calls: [{ name: recv }]', '  - finish: "got it"', ''].join('\n'),
    );
    const finisher = agent(
      'quick',
      'tools: [finish]\nmemory: { episode: true }',
      'turns:\n  - finish: done\n',
    );

    const waiting = await kernel.call('spawn', { agent: listener, input: 'wait for a message' });
    await eventually(`process ${waiting.pid} to wait for a message`, async () => {
      const row = await kernel.db.query<{ state: string }>('select state from aos.processes where pid = $1', [
        waiting.pid,
      ]);
      return row.rows[0]?.state === 'waiting' ? true : undefined;
    });
    await kernel.call('kill', { pid: waiting.pid, signal: 'KILL' });
    expect(await kernel.call('wait', { pid: waiting.pid, timeout: '20s' })).toMatchObject({
      exitStatus: 137,
    });

    const finished = await kernel.call('spawn', { agent: finisher, input: 'be quick' });
    expect(await kernel.call('wait', { pid: finished.pid, timeout: '20s' })).toMatchObject({ exitStatus: 0 });

    // Both exits, the one in SQL and the one in a slice, get their episode and their trace.
    const killedEpisode = await eventually('the killed process to have its episode', async () => {
      const found = await listMemories(kernel.db, { namespace: 'agent:patient' }).catch(() => []);
      return found.find((memory) => memory.id === `episode-${waiting.pid}`);
    });
    expect(killedEpisode.text).toContain('wait for a message');
    expect(killedEpisode.text).toMatch(/status 137/);
    const quickEpisodes = await eventually('the finished process to have its episode', async () => {
      const found = await listMemories(kernel.db, { namespace: 'agent:quick' }).catch(() => []);
      return found.length > 0 ? found : undefined;
    });
    expect(quickEpisodes.map((memory) => memory.id)).toEqual([`episode-${finished.pid}`]);

    await eventually('both traces to be exported', async () => {
      const pids = new Set(collector.spans().map((span) => span.attributes['aos.process.pid']));
      return pids.has(waiting.pid) && pids.has(finished.pid) ? true : undefined;
    });
    const roots = collector
      .spans()
      .filter((span) => span.parentSpanId === '' && span.attributes['aos.process.pid'] === waiting.pid);
    expect(roots).toHaveLength(1);
    await eventually('the exit effects queue to be empty', async () => {
      const left = await kernel.db.query('select pid from aos.exit_effects');
      return left.rowCount === 0 ? true : undefined;
    });
  });

  it('retries an exit whose effects fail, later, without holding up the others', async () => {
    const inner = new HashEmbedder();
    const poisoned: Embedder = {
      id: inner.id,
      embed: (texts, signal) => {
        if (texts.some((text) => text.includes('poison'))) return Promise.reject(new Error('embedder down'));
        return inner.embed(texts, signal);
      },
    };
    const { kernel, agent } = await start({ kernel: { embedder: poisoned } });
    const file = agent('diarist', 'tools: [finish]\nmemory: { episode: true }', 'turns:\n  - finish: done\n');
    const bad = await kernel.call('spawn', { agent: file, input: 'poison pill' });
    expect(await kernel.call('wait', { pid: bad.pid, timeout: '20s' })).toMatchObject({ exitStatus: 0 });
    const good = await kernel.call('spawn', { agent: file, input: 'a fine task' });
    expect(await kernel.call('wait', { pid: good.pid, timeout: '20s' })).toMatchObject({ exitStatus: 0 });
    // The slice's own exit could not write the poisoned episode either: both are left to the queue.
    await eventually('the good episode to be written', async () => {
      const found = await listMemories(kernel.db, { namespace: 'agent:diarist' }).catch(() => []);
      return found.some((memory) => memory.id === `episode-${good.pid}`) ? true : undefined;
    });
    const left = await eventually('the poisoned exit to be retried later', async () => {
      const rows = await kernel.db.query<{
        pid: number;
        attempts: number;
        last_error: string;
        later: boolean;
      }>('select pid, attempts, last_error, next_try_at > now() as later from aos.exit_effects');
      return rows.rows.length === 1 && rows.rows[0]!.attempts >= 1 ? rows.rows[0] : undefined;
    });
    expect(left).toMatchObject({
      pid: bad.pid,
      later: true,
      last_error: expect.stringContaining('embedder down'),
    });
  });
});
