/**
 * DBOS Transact (@dbos-inc/dbos-sdk 5.3.0): a registered workflow that runs N `DBOS.runStep`
 * no-op steps, each returning the payload. The system database is the run's database;
 * DBOS's defaults otherwise, with its console logs at `error` (none are needed here).
 */
import { randomUUID } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';
import pg from 'pg';
import { payloadOf, runContender } from './protocol.js';

runContender('dbos', async (size, databaseUrl) => {
  const payload = payloadOf(size);
  const steps = DBOS.registerWorkflow(
    async (n: number): Promise<number> => {
      for (let step = 0; step < n; step++) {
        await DBOS.runStep(async () => payload, { name: `s${step}` });
      }
      return n;
    },
    { name: 'benchSteps' },
  );
  DBOS.setConfig({
    name: 'aos-bench-steps',
    applicationVersion: 'bench',
    systemDatabaseUrl: databaseUrl,
    logLevel: 'error',
  });
  await DBOS.launch();
  const observer = new pg.Client({ connectionString: databaseUrl });
  await observer.connect();
  return {
    details: { config: 'defaults, logLevel error' },
    async run(n) {
      const id = randomUUID();
      await DBOS.withNextWorkflowID(id, () => steps(n));
      return id;
    },
    async journaled(id) {
      const result = await observer.query(
        'select count(*)::int as steps from dbos.operation_outputs where workflow_uuid = $1',
        [id],
      );
      return Number(result.rows[0].steps);
    },
    async close() {
      await observer.end();
      await DBOS.shutdown();
    },
  };
});
