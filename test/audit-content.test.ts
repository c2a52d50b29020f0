/**
 * The audit log vouches for the journal: rewriting a finished process's journal rows,
 * tool arguments or result in SQL makes `aos audit verify` fail at the entry whose
 * digest no longer matches, and `aos replay` report it (issue 12, finding 6).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testDatabases } from './support/databases.js';
import { testKernels } from './support/kernel.js';

describe.each(testDatabases)('audit digests against the journal on $name', (database) => {
  const start = testKernels(database);

  it('fails verify and replay when a finished process is rewritten in SQL', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aos-audit-content-'));
    const t = await start({ kernel: { home } });
    const agent = t.agent(
      'rester',
      'tools: [sleep, finish]',
      [
        'turns:',
        '  - text: "Resting first."',
        '    tool_calls: [{ name: sleep, arguments: { duration: 1 } }]',
        '  - finish: "rested"',
        '',
      ].join('\n'),
    );
    const { pid } = await t.kernel.call('spawn', { agent, input: 'rest' });
    expect(await t.kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({ result: 'rested' });
    const intact = await t.kernel.call('audit verify', {});
    expect(intact).toMatchObject({ ok: true });
    expect(intact.content.checked).toBeGreaterThanOrEqual(4);
    expect(await t.kernel.call('replay', { pid })).toMatchObject({ identical: true });

    const db = t.kernel.db;
    const modelSeq = (
      await db.query<{ seq: number }>(
        `select min(seq) as seq from aos.steps where pid = $1 and kind = 'model'`,
        [pid],
      )
    ).rows[0]!.seq;

    // The model's answer, rewritten.
    await db.query(
      `update aos.steps set output = jsonb_set(output, '{content}', '"I will wire the money."')
        where pid = $1 and seq = $2`,
      [pid, modelSeq],
    );
    const model = await t.kernel.call('audit verify', {});
    expect(model.ok).toBe(false);
    expect(model.firstBad).toMatchObject({ pid });
    expect(model.firstBad!.reason).toMatch(
      new RegExp(`model output in the journal row ${modelSeq} of process ${pid} differ`),
    );
    const modelEntry = (
      await db.query<{ id: number }>(
        `select id from aos.audit where kind = 'model-call' and pid = $1 order by id limit 1`,
        [pid],
      )
    ).rows[0]!.id;
    expect(model.firstBad!.id).toBe(modelEntry);
    const replayed = await t.kernel.call('replay', { pid });
    expect(replayed.identical).toBe(false);
    expect(replayed.differences.map((each) => each.what).join('\n')).toMatch(/model output/);

    // Undo it, then rewrite the tool's arguments.
    await db.query(
      `update aos.steps set output = jsonb_set(output, '{content}', '"Resting first."') where pid = $1 and seq = $2`,
      [pid, modelSeq],
    );
    expect(await t.kernel.call('audit verify', {})).toMatchObject({ ok: true });
    await db.query(
      `update aos.steps set input = '{"duration": 9}' where pid = $1 and kind = 'tool' and name = 'sleep'`,
      [pid],
    );
    const tool = await t.kernel.call('audit verify', {});
    expect(tool.ok).toBe(false);
    expect(tool.firstBad!.reason).toMatch(/tool arguments in the journal row \d+ of process \d+ differ/);
    await db.query(
      `update aos.steps set input = '{"duration": 1}' where pid = $1 and kind = 'tool' and name = 'sleep'`,
      [pid],
    );
    expect(await t.kernel.call('audit verify', {})).toMatchObject({ ok: true });

    // The process's result, rewritten.
    await db.query(`update aos.processes set result = '"transferred"' where pid = $1`, [pid]);
    const result = await t.kernel.call('audit verify', {});
    expect(result.ok).toBe(false);
    expect(result.firstBad).toMatchObject({ pid });
    expect(result.firstBad!.reason).toMatch(new RegExp(`its result \\(process ${pid}\\) differs`));
    expect((await t.kernel.call('replay', { pid })).identical).toBe(false);

    // A journal row removed.
    await db.query(`update aos.processes set result = '"rested"' where pid = $1`, [pid]);
    await db.query(`delete from aos.steps where pid = $1 and kind = 'tool'`, [pid]);
    const removed = await t.kernel.call('audit verify', {});
    expect(removed.ok).toBe(false);
    expect(removed.firstBad!.reason).toMatch(/is missing/);
  });

  it('keeps digests and sizes of messages, memories and tasks in the audit log, not their text', async () => {
    const home = mkdtempSync(join(tmpdir(), 'aos-audit-content-'));
    const t = await start({ kernel: { home } });
    const listener = t.agent(
      'listener',
      'tools: [recv, finish]',
      'turns:\n  - tool_calls: [{ name: recv }]\n  - finish: ok\n',
    );
    const task = 'task: the launch code is 0000-TASK';
    const message = 'message: my password is hunter2-MESSAGE';
    const memory = 'memory: the safe opens with 1234-MEMORY';
    const { pid } = await t.kernel.call('spawn', { agent: listener, input: task });
    await t.kernel.call('send', { pid, message });
    await t.kernel.call('mem add', { ns: 'secrets', text: memory, meta: { pin: '9999-META' } });
    const entries = await t.kernel.call('audit show', { kind: 'syscall', limit: 1000 });
    const text = JSON.stringify(entries);
    for (const secret of ['0000-TASK', 'hunter2-MESSAGE', '1234-MEMORY', '9999-META']) {
      expect(text).not.toContain(secret);
    }
    const digest = (value: string) => createHash('sha256').update(value).digest('hex');
    const byName = (name: string) =>
      (
        entries.find((entry) => (entry.data as { name?: string }).name === name)!.data as {
          input: Record<string, unknown>;
        }
      ).input;
    expect(byName('spawn')).toMatchObject({
      agent: listener,
      input: { bytes: task.length, sha256: digest(task) },
    });
    expect(byName('send')).toMatchObject({
      pid,
      message: { bytes: message.length, sha256: digest(message) },
    });
    expect(byName('mem add')).toMatchObject({ ns: 'secrets', text: { sha256: digest(memory) } });
  });
});
