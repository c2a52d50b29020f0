/**
 * The floor: what journaling a step costs at the least, one single-row autocommit INSERT
 * per step (a row like a journal row: run id and step number as primary key, the step's
 * name, its result as jsonb), from one node-postgres client, nothing else.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { payloadOf, runContender } from './protocol.js';

runContender('floor', async (size, databaseUrl) => {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query(
    'create table if not exists floor_journal (run_id uuid, step int, name text not null, output jsonb not null, primary key (run_id, step))',
  );
  const output = JSON.stringify(payloadOf(size));
  return {
    details: { statement: 'insert into floor_journal values ($1, $2, $3, $4)' },
    async run(n) {
      const id = randomUUID();
      for (let step = 0; step < n; step++) {
        await client.query('insert into floor_journal values ($1, $2, $3, $4)', [
          id,
          step,
          `s${step}`,
          output,
        ]);
      }
      return id;
    },
    async journaled(id) {
      const result = await client.query(
        'select count(*)::int as steps from floor_journal where run_id = $1',
        [id],
      );
      return Number(result.rows[0].steps);
    },
    close: () => client.end(),
  };
});
