/** init: create (or upgrade) the database aos uses. */
import { z } from 'zod';
import { loadMigrations, migrate } from '../../storage/migrate.js';
import { defineCommand } from '../command.js';

export const initCommand = defineCommand({
  name: 'init',
  summary: 'Create or upgrade the database: the embedded one in ./.aos (or AOS_HOME), or the server in --db',
  input: z.object({}).strict(),
  positional: [],
  output: z.object({
    database: z.string(),
    kind: z.enum(['postgres', 'pglite']),
    schemaVersion: z.number().int(),
    applied: z.array(z.number().int()),
  }),
  errors: ['conflict'],
  examples: ['aos init', 'aos init --db postgres://localhost/aos --json'],
  async run(context) {
    const db = await context.db();
    const applied = await migrate(db);
    return {
      database: db.location,
      kind: db.kind,
      schemaVersion: loadMigrations().at(-1)?.id ?? 0,
      applied,
    };
  },
  format: (output) =>
    `${output.database}: schema at migration ${output.schemaVersion}` +
    (output.applied.length === 0 ? ' (already up to date)' : ` (applied ${output.applied.join(', ')})`),
});
