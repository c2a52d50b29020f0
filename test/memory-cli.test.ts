/**
 * The `aos mem` contract through the compiled binary, on both databases: import is all or
 * nothing (a bad line is named, and nothing of the file is stored), search --batch prints
 * one JSON line per query, an unknown namespace is not_found, a query of stop words is a
 * list (empty), never an error.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchLineSchema } from '../src/cli/commands/memory-commands.js';
import { packageRoot } from '../src/package-root.js';
import { cliPath, runAos } from './support/cli.js';
import { testDatabases } from './support/databases.js';

beforeAll(() => {
  if (!existsSync(cliPath)) execFileSync('npx', ['tsc', '-p', packageRoot()], { stdio: 'inherit' });
});

/** A dozen CLI processes on a loaded 2-core machine. */
const cliTimeout = 180_000;

const lines = (...objects: unknown[]) => `${objects.map((object) => JSON.stringify(object)).join('\n')}\n`;

describe.each(testDatabases)('aos mem on $name', (database) => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it(
    'imports all or nothing, naming the bad line; searches in batches; not_found and stop words',
    async () => {
      const folder = mkdtempSync(join(tmpdir(), 'aos-mem-cli-'));
      let env: Record<string, string> = {};
      if (database.name === 'postgres') {
        const created = await database.create();
        drop = created.drop;
        env = { AOS_DATABASE_URL: created.url! };
      }
      const aos = (...args: string[]) => runAos(folder, args, env);
      const file = (name: string, text: string) => {
        writeFileSync(join(folder, name), text);
        return name;
      };
      const count = async () => {
        const listed = await aos('mem', 'ls', '--ns', 'bench:c1', '--limit', '100', '--json');
        expect(listed.code, listed.stderr).toBe(0);
        return (JSON.parse(listed.stdout) as unknown[]).length;
      };

      const good = file(
        'good.jsonl',
        `${lines(
          { id: 't1', text: 'My sister moved to Lisbon last spring.', thread: 's1', seq: 1 },
          { id: 't2', text: 'What is the name of your new puppy?', thread: 's1', seq: 2 },
        )}\n${lines({ id: 't3', text: 'We called him Biscuit.', thread: 's1', seq: 3, kind: 'episode' })}`,
      );
      const imported = await aos('mem', 'import', '--ns', 'bench:c1', good, '--json');
      expect(imported.code, imported.stderr).toBe(0);
      expect(JSON.parse(imported.stdout)).toEqual({
        namespace: 'bench:c1',
        imported: 3,
        embeddingModel: 'hash-v1/256',
      });

      // Line 3 is not JSON: the error names it, and lines 1 and 2 are not imported.
      const broken = file(
        'broken.jsonl',
        `${lines({ id: 'n1', text: 'one' }, { id: 'n2', text: 'two' })}{"id": "n3", "text": "thr\n`,
      );
      const refused = await aos('mem', 'import', '--ns', 'bench:c1', broken, '--json');
      expect(refused.code).toBe(2);
      expect(refused.stdout).toBe('');
      expect(JSON.parse(refused.stderr).error).toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(/^broken\.jsonl:3: not valid JSON/),
        hint: expect.stringContaining('nothing was done'),
      });
      // A line that is JSON but not a memory, and an id the namespace already has (found by the database).
      const empty = file('empty.jsonl', lines({ id: 'n1', text: 'one' }, { id: 'n2', text: '  ' }));
      const emptyRefused = await aos('mem', 'import', '--ns', 'bench:c1', empty, '--json');
      expect(emptyRefused.code).toBe(2);
      expect(JSON.parse(emptyRefused.stderr).error.message).toMatch(/^empty\.jsonl:2: field "text"/);
      const taken = file('taken.jsonl', lines({ id: 'n1', text: 'one' }, { id: 't2', text: 'again' }));
      const takenRefused = await aos('mem', 'import', '--ns', 'bench:c1', taken, '--json');
      expect(JSON.parse(takenRefused.stderr).error).toMatchObject({
        code: 'conflict',
        message: expect.stringContaining('"t2"'),
      });
      expect(await count()).toBe(3);
      // Into a namespace never written: a refused file does not create it.
      const fresh = await aos('mem', 'import', '--ns', 'agent:fresh', broken, '--json');
      expect(fresh.code).toBe(2);
      const none = await aos('mem', 'ls', '--ns', 'agent:fresh', '--json');
      expect(JSON.parse(none.stderr).error.code).toBe('not_found');

      // --batch: one line per query, in order, each {"id","results":[{"id","score","text"}]}, at most --k.
      const queries = file(
        'queries.jsonl',
        lines(
          { id: 'q1', query: 'which city does my sister live in' },
          { id: 'q2', query: 'the and of' },
          { id: 3, query: 'puppy name' },
        ),
      );
      const batch = await aos('mem', 'search', '--ns', 'bench:c1', '--k', '2', '--batch', queries);
      expect(batch.code, batch.stderr).toBe(0);
      const answers = batch.stdout
        .trim()
        .split('\n')
        .map((line) => batchLineSchema.parse(JSON.parse(line)));
      expect(answers.map((answer) => answer.id)).toEqual(['q1', 'q2', '3']);
      expect(answers[0]!.results[0]).toMatchObject({ id: 't1', text: expect.stringContaining('Lisbon') });
      expect(answers[0]!.results.length).toBeLessThanOrEqual(2);
      expect(answers[1]!.results).toEqual([]);
      expect(answers[2]!.results.map((result) => result.id)).toContain('t2');
      // A bad batch line answers nothing.
      const badQueries = file('bad-queries.jsonl', `${lines({ id: 'q1', query: 'puppy' })}{"id": "q2"}\n`);
      const badBatch = await aos('mem', 'search', '--ns', 'bench:c1', '--batch', badQueries);
      expect(badBatch.code).toBe(2);
      expect(badBatch.stdout).toBe('');
      expect(badBatch.stderr).toContain('bad-queries.jsonl:2: field "query"');

      // Unknown namespace: not_found (exit 3), also when searched next to a known one.
      const unknown = await aos('mem', 'search', '--ns', 'bench:c1,agent:none', 'puppy', '--json');
      expect(unknown.code).toBe(3);
      expect(JSON.parse(unknown.stderr).error).toMatchObject({
        code: 'not_found',
        message: expect.stringContaining('agent:none'),
      });
      // Stop words only: an empty list, exit 0.
      const stop = await aos('mem', 'search', '--ns', 'bench:c1', 'who are you', '--json');
      expect(stop.code, stop.stderr).toBe(0);
      expect(JSON.parse(stop.stdout)).toEqual([]);
    },
    cliTimeout,
  );
});
