/**
 * The SQL face as a trust boundary on a PostgreSQL server (issue 12): after `aos init`,
 * the schema belongs to aos_owner; a psql user holding aos_client may only call the
 * public functions and read the views, and is named in the audit log by its login; the
 * CLI and workers, holding aos_kernel, run agents but cannot rewrite or un-trigger the log.
 * Server only: the embedded database has one user (docs/security.md).
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AosError } from '../src/errors.js';
import { createKernel } from '../src/kernel.js';
import type { Db } from '../src/storage/db.js';
import { loadMigrations, migrate } from '../src/storage/migrate.js';
import { createPostgresDb } from '../src/storage/postgres-db.js';
import { runAos } from './support/cli.js';
import { createLogin, hasServer, postgresDatabase, warnWhenSkipped } from './support/databases.js';

warnWhenSkipped('the database roles tests');

const suffix = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const clientLogin = `aos_t_client_${suffix}`;
const kernelLogin = `aos_t_kernel_${suffix}`;

/** Runs `sql` as `login` on `url`; resolves to the rows, or rejects with the server's error. */
async function asLogin(
  url: string,
  login: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult> {
  const target = new URL(url);
  target.username = login;
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE `sql` fails with as `login`. */
async function failureOf(url: string, login: string, sql: string): Promise<string> {
  try {
    await asLogin(url, login, sql);
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error(`expected "${sql}" to fail for ${login}`);
}

describe.runIf(hasServer)('database roles on a PostgreSQL server', () => {
  let admin: Db;
  let url: string;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    const created = await postgresDatabase.create();
    admin = created.db;
    url = created.url!;
    drop = created.drop;
    const init = await runAos(process.cwd(), ['init', '--db', url, '--json']);
    expect(init.stderr).toBe('');
    expect(JSON.parse(init.stdout)).toMatchObject({
      kind: 'postgres',
      roles: { owner: 'aos_owner', kernel: 'aos_kernel', client: 'aos_client' },
    });
    await createLogin(admin, clientLogin, 'aos_client');
    await createLogin(admin, kernelLogin, 'aos_kernel');
  });

  afterAll(async () => {
    await drop?.();
    const cleanup = new pg.Client({ connectionString: process.env.AOS_TEST_DATABASE_URL });
    await cleanup.connect();
    await cleanup.query(`drop role if exists ${clientLogin}`);
    await cleanup.query(`drop role if exists ${kernelLogin}`);
    await cleanup.end();
  });

  it('gives the schema and every object in it to aos_owner, and does it again, twice at once, without a failure', async () => {
    const owners = await admin.query<{ owner: string; objects: number }>(
      `select owner, count(*)::int as objects from (
         select relowner::regrole::text as owner from pg_class where relnamespace = 'aos'::regnamespace
         union all select proowner::regrole::text from pg_proc where pronamespace = 'aos'::regnamespace
         union all select nspowner::regrole::text from pg_namespace where nspname = 'aos'
         union all select dictowner::regrole::text from pg_ts_dict where dictnamespace = 'aos'::regnamespace
         union all select cfgowner::regrole::text from pg_ts_config where cfgnamespace = 'aos'::regnamespace
         union all select typowner::regrole::text from pg_type where typnamespace = 'aos'::regnamespace) as o
       group by owner`,
    );
    expect(owners.rows).toHaveLength(1);
    expect(owners.rows[0]!.owner).toBe('aos_owner');
    // Run again, twice at once: both succeed, nothing to apply.
    const again = await Promise.all([1, 2].map(() => runAos(process.cwd(), ['init', '--db', url, '--json'])));
    for (const run of again) {
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toMatchObject({ applied: [], roles: { owner: 'aos_owner' } });
    }
  });

  it('aos doctor says which roles this login holds', async () => {
    const kernelUrl = new URL(url);
    kernelUrl.username = kernelLogin;
    const asKernel = await runAos(process.cwd(), ['doctor', '--db', kernelUrl.toString(), '--json']);
    const asAdmin = await runAos(process.cwd(), ['doctor', '--db', url, '--json']);
    const roles = (run: { stdout: string }) =>
      (JSON.parse(run.stdout) as { checks: { name: string; status: string }[] }).checks.find(
        (check) => check.name === 'roles',
      );
    expect(roles(asKernel)).toMatchObject({ status: 'ok' });
    expect(roles(asAdmin)).toMatchObject({ status: 'warn' });
  });

  it('lets a client spawn, send and kill through the SQL face, named by its login in the log', async () => {
    const registered = await createKernelAs(kernelLogin);
    await registered.call('spawn', { agent: 'examples/hello/hello.md', input: 'register' });
    await registered.close();
    const spawned = await asLogin(url, clientLogin, "select aos.spawn('hello', 'from psql') as pid");
    const pid = Number(spawned.rows[0].pid);
    await asLogin(url, clientLogin, 'select aos.send($1, $2)', [pid, 'hi']);
    await asLogin(url, clientLogin, "select aos.kill($1, 'KILL')", [pid]);
    const row = await asLogin(url, clientLogin, 'select owner, state from aos.ps where pid = $1', [pid]);
    expect(row.rows[0]).toEqual({ owner: clientLogin, state: 'exited' });
    const audit = await admin.query<{ kind: string; actor: string }>(
      "select kind, actor from aos.audit_pending where pid = $1 and kind in ('spawn', 'send', 'signal') order by seq",
      [pid],
    );
    expect(audit.rows).toEqual([
      { kind: 'spawn', actor: `sql:${clientLogin}` },
      { kind: 'send', actor: `sql:${clientLogin}` },
      { kind: 'signal', actor: `sql:${clientLogin}` },
    ]);
  });

  it('refuses a client every internal function and every direct write', async () => {
    const refused = [
      'select aos.exit_process(1, 0, null, null)',
      "select aos.audit_append('exit', 1, 'process:1', '{}')",
      "select aos.send_message(1, 'forged', 7)",
      "select aos.spawn_process('hello', '', null, 'someone else', 20, '{}')",
      "update aos.approvals set decision = 'approved'",
      "insert into aos.mailbox (pid, sender_pid, body) values (1, 7, 'forged')",
      "update aos.processes set state = 'exited'",
      'select * from aos.processes',
      'select * from aos.audit',
    ];
    for (const sql of refused) expect([sql, await failureOf(url, clientLogin, sql)]).toEqual([sql, '42501']);
  });

  it('runs an agent as the kernel role, which cannot rewrite the audit log, decide an approval or post a message behind the functions that audit them', async () => {
    const kernel = await createKernelAs(kernelLogin);
    const worker = kernel.createWorker({ concurrency: 2, leaseMs: 1000, pollMs: 50 });
    await worker.start();
    try {
      const { pid } = await kernel.call('spawn', { agent: 'examples/hello/hello.md', input: 'roles' });
      expect(await kernel.call('wait', { pid, timeout: '30s' })).toMatchObject({ exitStatus: 0 });
    } finally {
      await worker.stop();
    }
    const verified = await kernel.call('audit verify', {});
    await kernel.close();
    expect(verified).toMatchObject({ ok: true });
    expect(verified.firstBad).toBeUndefined();
    expect(verified.content.checked).toBeGreaterThan(0);
    for (const sql of [
      'alter table aos.audit disable trigger all',
      "update aos.audit set actor = 'someone else'",
      'delete from aos.audit_pending',
      "insert into aos.audit_pending (kind, actor, data) values ('exit', 'process:1', '{}')",
      'truncate aos.audit',
      'update aos.audit_head set id = 0',
      "update aos.approvals set decision = 'approved'",
      "insert into aos.mailbox (pid, sender_pid, body) values (1, 7, 'forged')",
    ]) {
      expect([sql, await failureOf(url, kernelLogin, sql)]).toEqual([sql, '42501']);
    }
  });

  // Last: it leaves the database at a migration this aos does not know.
  it('refuses to migrate as the kernel role, with a hint, and migrates as aos_owner for its admin', async () => {
    const extra = [
      ...loadMigrations(),
      { id: 9_999, name: 'roles_probe', sql: 'create table aos.roles_probe (id int primary key);' },
    ];
    const kernelDb = dbAs(kernelLogin);
    try {
      const refused = await migrate(kernelDb, extra).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AosError);
      expect(refused).toMatchObject({ code: 'forbidden' });
      expect((refused as AosError).hint).toContain('aos init');
      expect(await migrate(admin, extra)).toEqual([9_999]);
      const owner = await admin.query<{ owner: string }>(
        "select relowner::regrole::text as owner from pg_class where oid = 'aos.roles_probe'::regclass",
      );
      expect(owner.rows[0]!.owner).toBe('aos_owner');
      // The grants were applied again: the kernel may write the new table, a client may not.
      await kernelDb.query('insert into aos.roles_probe values (1)');
      expect(await failureOf(url, clientLogin, 'insert into aos.roles_probe values (2)')).toBe('42501');
    } finally {
      await kernelDb.close();
    }
  });

  function dbAs(login: string): Db {
    const target = new URL(url);
    target.username = login;
    return createPostgresDb({ connection: target.toString(), maxConnections: 4 });
  }

  async function createKernelAs(login: string) {
    return createKernel({ db: dbAs(login), otlp: false });
  }
});

describe.runIf(hasServer)('aos init --no-roles', () => {
  it('leaves the schema with the role that ran it', async () => {
    const created = await postgresDatabase.create();
    try {
      const init = await runAos(process.cwd(), ['init', '--db', created.url!, '--no-roles', '--json']);
      expect(JSON.parse(init.stdout)).toMatchObject({ roles: null });
      const owner = await created.db.query<{ owner: string; self: string }>(
        "select nspowner::regrole::text as owner, current_user::text as self from pg_namespace where nspname = 'aos'",
      );
      expect(owner.rows[0]!.owner).toBe(owner.rows[0]!.self);
      const doctor = await runAos(process.cwd(), ['doctor', '--db', created.url!, '--json']);
      const checks = (
        JSON.parse(doctor.stdout) as { checks: { name: string; status: string; detail: string }[] }
      ).checks;
      expect(checks.find((check) => check.name === 'roles')).toMatchObject({
        status: 'warn',
        detail: expect.stringContaining('one role for everything'),
      });
    } finally {
      await created.drop();
    }
  });
});

describe.runIf(hasServer)('aos init as an admin that is not a superuser', () => {
  it('separates the roles as a CREATEROLE login that owns the database', async () => {
    const admin = `aos_t_admin_${suffix}`;
    const name = `aos_test_roles_${suffix}`;
    const server = new pg.Client({ connectionString: process.env.AOS_TEST_DATABASE_URL });
    await server.connect();
    try {
      await server.query(`create role ${admin} login createrole`);
      await server.query(`create database ${name} owner ${admin}`);
      const url = new URL(process.env.AOS_TEST_DATABASE_URL!);
      url.pathname = `/${name}`;
      url.username = admin;
      const init = await runAos(process.cwd(), ['init', '--db', url.toString(), '--json']);
      expect(init.stderr).toBe('');
      expect(JSON.parse(init.stdout)).toMatchObject({ roles: { owner: 'aos_owner' } });
      const owner = await asLogin(
        url.toString(),
        admin,
        "select nspowner::regrole::text as owner from pg_namespace where nspname = 'aos'",
      );
      expect(owner.rows[0].owner).toBe('aos_owner');
    } finally {
      await server.query(`drop database if exists ${name} with (force)`);
      await server.query(`drop role if exists ${admin}`);
      await server.end();
    }
  });
});
