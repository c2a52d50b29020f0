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
import { payloadOf, runContender } from './protocol.js';
import { connectStepCounter } from './step-counter.js';

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
  const steps = await connectStepCounter(databaseUrl);
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
    // One checkpoint per superstep: the input's (step -1), the first loop's (step 0), then one per step.
    journaled: (id) =>
      steps.count(
        "select count(*)::int as steps from checkpoints where thread_id = $1 and (metadata->>'source') = 'loop' and (metadata->>'step')::int > 0",
        id,
      ),
    async close() {
      await steps.end();
      await checkpointer.end();
    },
  };
});
