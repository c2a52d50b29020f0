/** spawn: start a process from a registered agent or an agent file. */
import { z } from 'zod';
import { AosError } from '../errors.js';
import { toolSpecOf } from '../io/tool.js';
import { checkAgentWindow } from '../process/agent-program.js';
import { getProcessRow, toProcess } from '../process/process-table.js';
import { isProgramPath } from '../process/programs.js';
import { getAgentDefinition, spawnProcess } from '../process/spawn.js';
import { pidSchema, processSchema } from './schemas.js';
import { contentDigest, defineSyscall } from './syscall.js';

export const spawnSyscall = defineSyscall({
  name: 'spawn',
  summary:
    'Start a process running an agent (a registered name, or an agent file, which is registered first)',
  input: z
    .object({
      agent: z
        .string()
        .min(1)
        .describe(
          'a registered agent or program name, or the path of an agent file (.md) or program module (.ts, .js)',
        ),
      input: z.string().default('').describe('the task given to the agent'),
      ppid: pidSchema.optional().describe('parent process'),
      priority: z.coerce.number().int().min(-20).max(20).optional().describe('higher runs first'),
      nice: z.coerce
        .number()
        .int()
        .min(-20)
        .max(20)
        .optional()
        .describe('as in Unix: higher is nicer to others, i.e. priority = -nice'),
      model: z
        .string()
        .regex(/^(openai|anthropic):.+$/, 'openai:MODEL or anthropic:MODEL')
        .optional()
        .describe("a model that overrides the agent's, e.g. openai:gpt-4o-mini"),
      maxSteps: z.coerce.number().int().positive().optional().describe('step limit (XCPU when reached)'),
      maxWallTime: z.string().optional().describe('wall time limit, e.g. 10m (XCPU when reached)'),
      maxTokens: z.coerce.number().int().positive().optional().describe('token budget (XCPU when reached)'),
      maxCost: z.coerce.number().positive().optional().describe('cost budget in USD (XCPU when reached)'),
    })
    .strict(),
  output: processSchema,
  cli: {
    positional: ['agent', 'input'],
    examples: [
      'aos spawn agents/researcher.md "the history of PostgreSQL"',
      'aos spawn researcher "vacuum" --priority 5 --max-steps 20 --json',
    ],
  },
  tool: {
    description:
      'Start a child process running the named agent (one listed under agents: in this agent file) with the given input. Returns its pid at once; use wait to collect its result.',
    fields: ['agent', 'input', 'priority'],
    annotations: {},
    transactional: true,
    text: (process) => JSON.stringify({ pid: process.pid }),
  },
  sql: 'aos.spawn',
  capability: 'process.spawn',
  reaches: (input) => ({ agents: [input.agent] }),
  errors: ['invalid_input', 'not_found', 'forbidden'],
  // The audit log keeps the task's size and digest, not its text.
  auditInput: ({ input, ...rest }) => ({ ...rest, input: contentDigest(input) }),
  async handler(context, input, caller) {
    if (input.priority !== undefined && input.nice !== undefined) {
      throw new AosError('invalid_input', 'spawn: give --priority or --nice, not both', {
        hint: 'priority = -nice',
      });
    }
    let priority = input.priority ?? (input.nice === undefined ? undefined : -input.nice);
    const file = looksLikeFile(input.agent);
    if (file && caller.kind === 'process') {
      // A process names the agents it may spawn; reading a host file is the CLI's and the library's.
      throw new AosError('forbidden', `spawn: a process spawns agents by name, not the file ${input.agent}`, {
        hint: 'list the agent file under agents: in the agent file; then spawn it by its name',
        details: { rule: 'spawn:file' },
      });
    }
    const definition = file
      ? await context.register(input.agent)
      : await getAgentDefinition(context.db, input.agent);
    if (file) priority ??= definition.priority;
    if (caller.kind === 'process') {
      // A child never runs ahead of its parent.
      if (priority !== undefined && priority > caller.priority) {
        throw new AosError(
          'forbidden',
          `spawn: priority ${priority} is above this process's own (${caller.priority}); a child runs at most at its parent's priority`,
          { hint: `give a priority up to ${caller.priority}`, details: { rule: 'priority' } },
        );
      }
      priority ??= caller.priority;
    }
    if (definition.program === undefined) {
      const specs = context.tools.select(definition.tools, `agent ${definition.name}`).map(toolSpecOf);
      checkAgentWindow(definition, specs, input.input, input.model);
    }
    const pid = await spawnProcess(context.db, {
      agent: definition.name,
      input: input.input,
      ppid: caller.kind === 'process' ? caller.pid : (input.ppid ?? null),
      ...(caller.kind === 'process' ? { owner: caller.owner } : {}),
      ...(priority === undefined ? {} : { priority }),
      ...(input.model === undefined ? {} : { model: input.model }),
      limits: {
        ...(input.maxSteps === undefined ? {} : { max_steps: input.maxSteps }),
        ...(input.maxWallTime === undefined ? {} : { max_wall_time: input.maxWallTime }),
        ...(input.maxTokens === undefined ? {} : { max_tokens: input.maxTokens }),
        ...(input.maxCost === undefined ? {} : { max_cost: input.maxCost }),
      },
    });
    context.poke();
    return toProcess(await getProcessRow(context.db, pid));
  },
});

function looksLikeFile(agent: string): boolean {
  return agent.endsWith('.md') || isProgramPath(agent) || agent.includes('/');
}
