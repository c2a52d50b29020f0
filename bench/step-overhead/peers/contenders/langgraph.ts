/**
 * LangGraph (@langchain/langgraph 1.7.3 with @langchain/langgraph-checkpoint-postgres 1.0.5):
 * a graph of one node that loops N times, each step returning the payload, checkpointed by
 * PostgresSaver with durability "sync" (each step's checkpoint is written before the next
 * step starts). The state is one channel holding the step count and the last result, and
 * the target N, written once by the input.
 */
import { randomUUID } from 'node:crypto';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { PostgresSaver } from '@langchain/langgraph-checkpoint-postgres';
import pg from 'pg';
import { payloadOf, runContender } from './protocol.js';

const State = Annotation.Root({
  target: Annotation<number>,
  last: Annotation<{ step: number; result: string }>,
});

runContender('langgraph', async (size, databaseUrl) => {
  const payload = payloadOf(size);
  const checkpointer = PostgresSaver.fromConnString(databaseUrl);
  await checkpointer.setup();
  const next = (state: typeof State.State): 'step' | typeof END =>
    state.last.step < state.target ? 'step' : END;
  const graph = new StateGraph(State)
    .addNode('step', async (state: typeof State.State) => ({
      last: { step: state.last.step + 1, result: payload },
    }))
    .addConditionalEdges(START, next, ['step', END])
    .addConditionalEdges('step', next, ['step', END])
    .compile({ checkpointer });
  const observer = new pg.Client({ connectionString: databaseUrl });
  await observer.connect();
  return {
    details: { durability: 'sync' },
    async run(n) {
      const id = randomUUID();
      const final = await graph.invoke(
        { target: n, last: { step: 0, result: '' } },
        { configurable: { thread_id: id }, durability: 'sync', recursionLimit: n + 10 },
      );
      if (final.last.step !== n) throw new Error(`the graph ran ${final.last.step} of ${n} steps`);
      return id;
    },
    async journaled(id) {
      // One checkpoint per superstep: the input's, one per step, and the one before the first step.
      const result = await observer.query(
        "select count(*)::int as steps from checkpoints where thread_id = $1 and (metadata->>'source') = 'loop' and (metadata->>'step')::int > 0",
        [id],
      );
      return Number(result.rows[0].steps);
    },
    async close() {
      await observer.end();
      await checkpointer.end();
    },
  };
});
