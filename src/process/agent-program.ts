/**
 * The built-in agent loop, written as a program: ask the model, run the tool calls it
 * makes, repeat; a plain answer ends the process with that answer. It is replayed like
 * any program, so an agent and a TypeScript program share one execution engine. The
 * context it sends is its transcript plus a tail the kernel rebuilds at every call
 * (signal notices), so the transcript itself only ever grows at its end.
 */
import type { Message, ModelResponse, ToolCall } from '../cpu/model.js';
import type { AgentDefinition } from './agent-definition.js';
import type { Program, ProgramContext, ProgramModelRequest, ToolResult } from './program.js';

/** The program an agent definition runs. */
export function agentProgram(definition: AgentDefinition): Program {
  return {
    kind: 'aos.program',
    name: definition.name,
    options: { tools: definition.tools },
    run: (ctx, input) => runAgent(ctx, definition, input),
  };
}

async function runAgent(ctx: ProgramContext, definition: AgentDefinition, input: string): Promise<unknown> {
  const transcript: Message[] = [{ role: 'user', content: input }];
  let lastModelOperation = 0;
  for (;;) {
    const response: ModelResponse = await ctx.model(
      () =>
        ({
          system: definition.prompt,
          messages: [...transcript, ...tail(ctx, definition, lastModelOperation)],
          tools: definition.tools,
        }) satisfies ProgramModelRequest,
    );
    lastModelOperation = ctx.operation;
    transcript.push({
      role: 'assistant',
      content: response.content,
      ...(response.toolCalls.length > 0 ? { toolCalls: response.toolCalls } : {}),
      ...(response.meta === undefined ? {} : { meta: response.meta }),
    });
    // A plain answer ends the process, with the answer as its result.
    if (response.toolCalls.length === 0) return response.content;
    for (const call of response.toolCalls) {
      const result = await ctx.tool(call.name, call.arguments, {
        callId: call.id,
        ...(call.invalidArguments === undefined ? {} : { invalidArguments: call.invalidArguments }),
      });
      transcript.push(toolMessage(call, result));
    }
  }
}

/** What the kernel tells the agent after its transcript: notices of signals delivered since its last model call, and of TERM until it exits. */
function tail(ctx: ProgramContext, definition: AgentDefinition, lastModelOperation: number): Message[] {
  const notices: Message[] = [];
  if (ctx.signals.some((delivered) => delivered.signal === 'INT' && delivered.op > lastModelOperation)) {
    notices.push({ role: 'notice', content: '[aos] your previous model call was interrupted (signal INT)' });
  }
  if (ctx.terminating) {
    notices.push({
      role: 'notice',
      content:
        `[aos] signal TERM: you are being stopped. Finish or save your work within ${definition.termGraceSteps} steps ` +
        `or ${Math.round(definition.termGraceMs / 1000)} s, then call finish; after that the process is killed.`,
    });
  }
  return notices;
}

function toolMessage(call: ToolCall, result: ToolResult): Message {
  return {
    role: 'tool',
    toolCallId: call.id,
    name: call.name,
    content: result.content,
    ...(result.isError ? { isError: true } : {}),
  };
}
