/** init: create (or upgrade) the database aos uses, and on a server separate its roles. */
import { z } from 'zod';
import { databaseRoles, separateRoles } from '../../storage/database-roles.js';
import { loadMigrations, migrate } from '../../storage/migrate.js';
import { defineCommand } from '../command.js';

export const initCommand = defineCommand({
  name: 'init',
  summary:
    'Create or upgrade the database: the embedded one in ./.aos (or AOS_HOME), or the server in --db, whose schema it gives to aos_owner',
  input: z
    .object({
      noRoles: z
        .boolean()
        .default(false)
        .describe(
          'on a server, leave the schema with the role that runs this and every client trusted with everything (no aos_owner, aos_kernel, aos_client)',
        ),
    })
    .strict(),
  positional: [],
  output: z.object({
    database: z.string(),
    kind: z.enum(['postgres', 'pglite']),
    schemaVersion: z.number().int(),
    applied: z.array(z.number().int()),
    roles: z
      .object({ owner: z.string(), kernel: z.string(), client: z.string() })
      .nullable()
      .describe('the roles the schema was given to; null on the embedded database or with --no-roles'),
  }),
  errors: ['conflict', 'forbidden'],
  examples: [
    'aos init',
    'aos init --db postgres://admin@localhost/aos --json',
    'aos init --db postgres://localhost/aos --no-roles',
  ],
  async run(context, input) {
    const db = await context.db();
    const applied = await migrate(db);
    const separate = db.kind === 'postgres' && !input.noRoles;
    if (separate) await separateRoles(db);
    return {
      database: db.location,
      kind: db.kind,
      schemaVersion: loadMigrations().at(-1)?.id ?? 0,
      applied,
      roles: separate ? { ...databaseRoles } : null,
    };
  },
  format: (output) =>
    `${output.database}: schema at migration ${output.schemaVersion}` +
    (output.applied.length === 0 ? ' (already up to date)' : ` (applied ${output.applied.join(', ')})`) +
    (output.roles === null
      ? ''
      : `\nroles: the schema belongs to ${output.roles.owner}; grant ${output.roles.kernel} to the logins of the CLI and workers, ${output.roles.client} to psql users`),
});
