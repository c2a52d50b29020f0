/**
 * A connection of its own to the run's database, with which a contender counts the steps
 * a workflow journaled (outside the measured workflow, and outside its library's pool).
 */
import pg from 'pg';

/** Counts journaled steps with `sql` (one parameter, the workflow's id; one column, `steps`). */
export interface StepCounter {
  count(sql: string, id: string | number): Promise<number>;
  end(): Promise<void>;
}

/** Connects a step counter to `databaseUrl`. */
export async function connectStepCounter(databaseUrl: string): Promise<StepCounter> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  return {
    async count(sql, id) {
      const result = await client.query<{ steps: number }>(sql, [id]);
      return Number(result.rows[0]?.steps);
    },
    end: () => client.end(),
  };
}
