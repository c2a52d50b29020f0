/**
 * DBOS Transact (@dbos-inc/dbos-sdk 5.3.0): a registered workflow that runs N `DBOS.runStep`
 * no-op steps, each returning the payload. The system database is the run's database;
 * DBOS's defaults otherwise, with its console logs at `error` (none are needed here).
 */
import { randomUUID } from 'node:crypto';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { payloadOf, runContender } from './protocol.js';
import { connectStepCounter } from './step-counter.js';

runContender('dbos', async (size, databaseUrl) => {
  const payload = payloadOf(size);
  const workflow = DBOS.registerWorkflow(
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
  const steps = await connectStepCounter(databaseUrl);
  return {
    details: { config: 'defaults, logLevel error' },
    async run(n) {
      const id = randomUUID();
      await DBOS.withNextWorkflowID(id, () => workflow(n));
      return id;
    },
    journaled: (id) =>
      steps.count('select count(*)::int as steps from dbos.operation_outputs where workflow_uuid = $1', id),
    async close() {
      await steps.end();
      await DBOS.shutdown();
    },
  };
});
