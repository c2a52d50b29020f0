/** doctor: check that aos can run here, and say what to fix. */
import { z } from 'zod';
import { toAosError } from '../../errors.js';
import { bubblewrapDriver } from '../../sandbox/bubblewrap.js';
import { databaseRoles, rolesSeparated } from '../../storage/database-roles.js';
import type { Db } from '../../storage/db.js';
import { checkSchemaVersion, loadMigrations } from '../../storage/migrate.js';
import { defineCommand } from '../command.js';

const checkSchema = z.object({
  name: z.string(),
  status: z.enum(['ok', 'warn', 'fail']),
  detail: z.string(),
  hint: z.string().optional(),
});

type Check = z.infer<typeof checkSchema>;

export const doctorCommand = defineCommand({
  name: 'doctor',
  summary:
    'Check Node, the database, the schema, its roles, pgvector, workers and the sandbox; exits 6 when something fails',
  input: z.object({}).strict(),
  positional: [],
  output: z.object({ ok: z.boolean(), checks: z.array(checkSchema) }),
  errors: [],
  examples: ['aos doctor', 'aos doctor --json'],
  async run(context) {
    const checks: Check[] = [];
    const major = Number(process.versions.node.split('.')[0]);
    checks.push(
      major >= 20
        ? { name: 'node', status: 'ok', detail: `Node ${process.versions.node}` }
        : {
            name: 'node',
            status: 'fail',
            detail: `Node ${process.versions.node}`,
            hint: 'install Node 20 or newer',
          },
    );
    let db: Db | undefined;
    try {
      db = await context.db();
      checks.push({ name: 'database', status: 'ok', detail: `${db.kind} at ${db.location}` });
    } catch (error) {
      const aosError = toAosError(error);
      checks.push({ name: 'database', status: 'fail', detail: aosError.message, ...hintOf(aosError.hint) });
    }
    if (db !== undefined) checks.push(...(await databaseChecks(db)));
    const sandbox = await bubblewrapDriver.availability();
    checks.push(
      sandbox.available
        ? { name: 'sandbox', status: 'ok', detail: sandbox.detail }
        : {
            name: 'sandbox',
            status: 'warn',
            detail: `unavailable: ${sandbox.reason}; shell and code tools refuse to run`,
            hint: sandbox.hint,
          },
    );
    return { ok: checks.every((check) => check.status !== 'fail'), checks };
  },
  format: (output) =>
    output.checks
      .map(
        (check) =>
          `${check.status.padEnd(4)}  ${check.name}: ${check.detail}${check.hint ? `\n      hint: ${check.hint}` : ''}`,
      )
      .join('\n'),
  exitCode: (output) => (output.ok ? 0 : 6),
});

async function databaseChecks(db: Db): Promise<Check[]> {
  const checks: Check[] = [];
  const latest = loadMigrations().at(-1)?.id ?? 0;
  try {
    const version = await checkSchemaVersion(db, latest);
    checks.push(
      version === latest
        ? { name: 'schema', status: 'ok', detail: `migration ${version} of ${latest}` }
        : {
            name: 'schema',
            status: 'warn',
            detail: `migration ${version} of ${latest}`,
            hint: 'run: aos init',
          },
    );
  } catch (error) {
    const aosError = toAosError(error);
    const missing = /aos\.migrations|schema "aos"/.test(aosError.message);
    checks.push(
      missing
        ? { name: 'schema', status: 'warn', detail: 'not created yet', hint: 'run: aos init' }
        : { name: 'schema', status: 'fail', detail: aosError.message, ...hintOf(aosError.hint) },
    );
    return checks;
  }
  if (db.kind === 'postgres') checks.push(await rolesCheck(db));
  const vector = await db.query("select 1 from pg_available_extensions where name = 'vector'");
  checks.push(
    vector.rowCount > 0
      ? { name: 'pgvector', status: 'ok', detail: 'available: vector search uses HNSW indexes' }
      : {
          name: 'pgvector',
          status: 'warn',
          detail: 'not installed: vector search falls back to an exact scan',
          hint: 'install pgvector on the server for faster vector search',
        },
  );
  const work = await db.query<{ ready: number; running: number }>(
    `select count(*) filter (where state = 'ready') as ready,
            count(*) filter (where state = 'running' and lease_expires_at > now()) as running
       from aos.processes`,
  );
  const { ready, running } = work.rows[0]!;
  checks.push(
    Number(ready) > 0 && Number(running) === 0
      ? {
          name: 'workers',
          status: 'warn',
          detail: `${ready} ready processes and none running`,
          hint: 'start one: aos worker',
        }
      : { name: 'workers', status: 'ok', detail: `${ready} ready, ${running} running` },
  );
  return checks;
}

/** Whether the server's roles are separated (docs/security.md), and what this login holds. */
async function rolesCheck(db: Db): Promise<Check> {
  if (!(await rolesSeparated(db))) {
    return {
      name: 'roles',
      status: 'warn',
      detail:
        'one role for everything: every client of this database may write its tables and rewrite its audit log',
      hint: 'as a superuser or CREATEROLE admin, run: aos init --db URL; then grant aos_kernel to the logins of the CLI and workers',
    };
  }
  const held = await db.query<{ owner: boolean; kernel: boolean }>(
    `select pg_has_role(current_user, $1, 'USAGE') as owner, pg_has_role(current_user, $2, 'USAGE') as kernel`,
    [databaseRoles.owner, databaseRoles.kernel],
  );
  const { owner, kernel } = held.rows[0]!;
  if (owner) {
    return {
      name: 'roles',
      status: 'warn',
      detail: `separated, but this login may act as ${databaseRoles.owner} (it can rewrite the audit log)`,
      hint: `run the CLI and workers as a login that holds only ${databaseRoles.kernel}; keep this one for aos init`,
    };
  }
  return kernel
    ? { name: 'roles', status: 'ok', detail: `separated: this login holds ${databaseRoles.kernel}` }
    : {
        name: 'roles',
        status: 'fail',
        detail: `separated, and this login does not hold ${databaseRoles.kernel}: commands other than the SQL face are refused`,
        hint: `as the admin: grant ${databaseRoles.kernel} to this login`,
      };
}

function hintOf(hint: string | undefined): { hint?: string } {
  return hint === undefined ? {} : { hint };
}
