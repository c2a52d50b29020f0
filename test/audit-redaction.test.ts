/**
 * Credentials in URLs never reach messages, and the exit audit entry keeps the error's
 * code and digest, not its text (issue 12, finding 8).
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { providerError } from '../src/cpu/provider-error.js';
import { migrate } from '../src/storage/migrate.js';
import { drainAudit, listAudit } from '../src/trust/audit.js';
import { verifyAudit } from '../src/trust/verify-audit.js';
import { testDatabases } from './support/databases.js';

describe('provider errors', () => {
  it('carry no credential from the base URL or the SDK message', () => {
    const baseUrl = 'http://user:s3cret@127.0.0.1:9/v1?api_key=k3y';
    const error = providerError(
      Object.assign(new Error(`request to ${baseUrl}/chat/completions failed`), {
        name: 'APIConnectionError',
      }),
      { name: 'openai', baseUrl, keyVariable: 'OPENAI_API_KEY', urlVariable: 'OPENAI_BASE_URL' },
    );
    expect(error.message).toContain('http://user:***@127.0.0.1:9/v1?api_key=***');
    expect(`${error.message} ${error.hint ?? ''}`).not.toMatch(/s3cret|k3y/);
  });
});

describe.each(testDatabases)('the exit audit entry on $name', (database) => {
  let drop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await drop?.();
    drop = undefined;
  });

  it('keeps the error code and a digest of the error, never its text', async () => {
    const created = await database.create();
    drop = created.drop;
    const db = created.db;
    await migrate(db);
    await db.query("select aos.register_agent('x', 'digest', '{}', null)");
    const pid = (
      await db.query<{ pid: number }>(`select aos.spawn_process('x', 'task', null, null, 0, null) as pid`)
    ).rows[0]!.pid;
    const error = {
      code: 'unavailable',
      message: 'openai at http://user:s3cret@host is unreachable: s3cret',
    };
    await db.query('select aos.exit_process($1, 1, null, $2)', [pid, JSON.stringify(error)]);
    await drainAudit(db);
    const [exit] = await listAudit(db, { pid, kind: 'exit' });
    expect(JSON.stringify(exit!.data)).not.toContain('s3cret');
    const stored = (
      await db.query<{ text: string }>('select error::text as text from aos.processes where pid = $1', [pid])
    ).rows[0]!.text;
    expect(exit!.data).toMatchObject({
      status: 1,
      error: { code: 'unavailable' },
      error_sha256: createHash('sha256').update(stored).digest('hex'),
    });
    // And verify vouches for the stored error by that digest.
    const config = {
      keyFile: `/tmp/aos-redaction-${process.pid}.pem`,
      target: `/tmp/aos-redaction-${process.pid}-${Math.random()}.jsonl`,
    };
    expect(await verifyAudit(db, config)).toMatchObject({ ok: true });
    await db.query(
      `update aos.processes set error = '{"code":"failed","message":"nothing happened"}' where pid = $1`,
      [pid],
    );
    expect((await verifyAudit(db, config)).firstBad?.reason).toMatch(/its error \(process \d+\) differs/);
  });
});
