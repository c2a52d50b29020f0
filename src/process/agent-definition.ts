/**
 * Agent definitions: a Markdown file whose YAML front matter names the model, tools,
 * limits and settings, and whose body is the system prompt. Parsed into a
 * self-contained definition (a scripted CPU's script is embedded), so that any
 * worker on any machine can run it from the database alone.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { canonicalJson } from '../canonical-json.js';
import { parseScript, type Script } from '../cpu/script.js';
import { parseDuration } from '../duration.js';
import { AosError } from '../errors.js';
import { type ContextFields, contextSettings } from '../memory/context-settings.js';

const durationSchema = z.union([z.number().int().positive(), z.string()]);
/** Tokens: a whole number, or "16k". */
const tokensSchema = z.union([z.number().int().positive(), z.string()]);

/** Limits a process runs under; reaching one raises XCPU. */
export const limitsSchema = z
  .object({
    max_steps: z.number().int().positive().optional(),
    max_wall_time: durationSchema.optional(),
    max_tokens: z.number().int().positive().optional(),
    max_cost: z.number().positive().optional(),
  })
  .strict();

export type Limits = z.infer<typeof limitsSchema>;

const frontMatterSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/i, 'letters, digits, dot, dash or underscore'),
    description: z.string().optional(),
    model: z.string().min(1),
    tools: z.array(z.string()).optional(),
    agents: z.array(z.string()).optional(),
    limits: limitsSchema.optional(),
    priority: z.number().int().min(-20).max(20).optional(),
    on_device_failure: z.enum(['park', 'fail']).optional(),
    max_outage: durationSchema.optional(),
    model_timeout: durationSchema.optional(),
    signals: z
      .object({
        term_grace_steps: z.number().int().min(0).optional(),
        term_grace_time: durationSchema.optional(),
      })
      .strict()
      .optional(),
    memory: z.object({ episode: z.boolean().optional() }).strict().optional(),
    context: z
      .object({
        window: tokensSchema.optional(),
        high_watermark: z.number().gt(0).max(1).optional(),
        low_watermark: z.number().gt(0).lt(1).optional(),
        offload_over: tokensSchema.optional(),
        reserve: tokensSchema.optional(),
        prefetch: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** A parsed agent definition, as stored in aos.agents. */
export interface AgentDefinition {
  name: string;
  description?: string;
  model: string;
  /** Tool names the agent may call; the kernel's process tools by default. */
  tools: string[];
  /** Names of the agents this one may spawn (besides itself), registered with it. */
  agents: string[];
  limits: Limits;
  priority: number;
  termGraceSteps: number;
  termGraceMs: number;
  /** When a model device fails after a call's retries: park the process until it answers (default), or fail the call. */
  onDeviceFailure?: 'park' | 'fail';
  /** How long a process stays parked on a device that is down before the call fails; default unbounded. */
  maxOutageMs?: number;
  /** Longest time one model call may take, retries included; default unbounded (each attempt has the driver's timeout). */
  modelTimeoutMs?: number;
  prompt: string;
  /** The scripted CPU's turns, embedded when model is `scripted:FILE`. */
  script?: Script;
  /** The `context:` field: window, watermarks, offloading (see src/memory/context-settings.ts). */
  context?: ContextFields;
  /** The `memory:` field: `episode: true` writes an episode to agent:NAME at exit. */
  memory?: { episode?: boolean };
  /** Set for a program written in TypeScript: where its code is, and the digest of that code. */
  program?: ProgramSource;
}

/** Where a program's code lives: a module any worker can import, or only the kernel that registered it (null). */
export interface ProgramSource {
  module: string | null;
  /** sha256 of the module's source (or of the function, for a program without a module): its version. */
  digest: string;
}

/** The tools an agent gets when its file names none. */
export const defaultAgentTools = ['finish', 'spawn', 'wait', 'send', 'recv', 'sleep', 'recall', 'todo'];

/** Reads and validates an agent file; errors name the file, line and field. */
export function loadAgentFile(path: string): AgentDefinition {
  return readAgentFile(path).definition;
}

/** Reads and validates an agent file, with the `agents:` paths it lists as written. */
export function readAgentFile(path: string): ParsedAgentFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AosError('not_found', `cannot read agent file ${path}`, {
      hint: 'check the path; an agent file is Markdown with YAML front matter',
      cause: error,
    });
  }
  return parseAgentText(text, path);
}

/** Parses the text of an agent file; `path` is used in messages and to resolve relative files. */
export function parseAgentFile(text: string, path: string): AgentDefinition {
  return parseAgentText(text, path).definition;
}

export interface ParsedAgentFile {
  definition: AgentDefinition;
  /** The `agents:` paths, as written. */
  agentFiles: string[];
}

function parseAgentText(text: string, path: string): ParsedAgentFile {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (match === null) {
    throw new AosError('invalid_input', `${path}:1: missing YAML front matter`, {
      hint: 'start the file with a line "---", then name: and model:, then "---", then the system prompt',
    });
  }
  const frontMatter = match[1] ?? '';
  const body = (match[2] ?? '').trim();
  const lineCounter = new LineCounter();
  const document = parseDocument(frontMatter, { lineCounter });
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = (firstError.linePos?.[0]?.line ?? 0) + 1;
    // The parser's own "at line N, column M" counts from the front matter, not the file: drop it.
    const reason = (firstError.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    throw new AosError('invalid_input', `${path}:${line}: invalid YAML: ${reason}`, {
      hint: 'fix the front matter between the two "---" lines',
    });
  }
  const parsed = frontMatterSchema.safeParse(document.toJS());
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const fieldPath = issue.path.map(String);
    const node = document.getIn(fieldPath, true) as { range?: [number, number, number] } | undefined;
    const parentNode = document.getIn(fieldPath.slice(0, -1), true) as
      | { range?: [number, number, number] }
      | undefined;
    // An unknown key is reported on its map: point at the key itself.
    const unknown = unknownKeyOf(issue);
    const unknownAt = unknown === undefined ? undefined : keyOffset(document, fieldPath, unknown);
    const offset = unknownAt ?? node?.range?.[0] ?? parentNode?.range?.[0] ?? 0;
    // +1: the front matter starts on the file's second line.
    const line = lineCounter.linePos(offset).line + 1;
    const field = [...fieldPath, ...(unknown === undefined ? [] : [unknown])].join('.') || '(front matter)';
    throw new AosError('invalid_input', `${path}:${line}: field "${field}": ${issue.message}`, {
      hint: 'see docs/agents.md for the fields of an agent file',
    });
  }
  const front = parsed.data;
  const definition: AgentDefinition = {
    name: front.name,
    ...(front.description === undefined ? {} : { description: front.description }),
    model: front.model,
    tools: front.tools ?? defaultAgentTools,
    agents: [],
    limits: front.limits ?? {},
    priority: front.priority ?? 0,
    termGraceSteps: front.signals?.term_grace_steps ?? 3,
    termGraceMs: parseDuration(
      front.signals?.term_grace_time ?? '30s',
      `${path}:${lineOf(document, lineCounter, ['signals', 'term_grace_time'])}: field "signals.term_grace_time"`,
    ),
    ...(front.on_device_failure === undefined ? {} : { onDeviceFailure: front.on_device_failure }),
    ...(front.max_outage === undefined
      ? {}
      : {
          maxOutageMs: parseDuration(
            front.max_outage,
            `${path}:${lineOf(document, lineCounter, ['max_outage'])}: field "max_outage"`,
          ),
        }),
    ...(front.model_timeout === undefined
      ? {}
      : {
          modelTimeoutMs: parseDuration(
            front.model_timeout,
            `${path}:${lineOf(document, lineCounter, ['model_timeout'])}: field "model_timeout"`,
          ),
        }),
    prompt: body,
    ...(front.context === undefined ? {} : { context: front.context }),
    ...(front.memory === undefined ? {} : { memory: front.memory }),
  };
  if (front.context !== undefined) {
    contextSettings(
      front.context,
      front.model,
      `${path}:${lineOf(document, lineCounter, ['context'])}: field "context"`,
    );
  }
  if (front.limits?.max_wall_time !== undefined)
    parseDuration(
      front.limits.max_wall_time,
      `${path}:${lineOf(document, lineCounter, ['limits', 'max_wall_time'])}: field "limits.max_wall_time"`,
    );
  const prefix = front.model.includes(':') ? front.model.slice(0, front.model.indexOf(':')) : '';
  if (!modelPrefixes.includes(prefix)) {
    const line = lineOf(document, lineCounter, ['model']);
    throw new AosError('invalid_input', `${path}:${line}: field "model": unknown model "${front.model}"`, {
      hint: `a model string is ${modelPrefixes.map((known) => `${known}:NAME`).join(', ')}`,
    });
  }
  if (front.model.startsWith('scripted:')) {
    const scriptPath = resolve(dirname(path), front.model.slice('scripted:'.length));
    definition.script = loadScriptFile(scriptPath, `${path}:${lineOf(document, lineCounter, ['model'])}`);
  }
  return { definition, agentFiles: front.agents ?? [] };
}

/** Model string prefixes aos knows. */
export const modelPrefixes = ['scripted', 'openai', 'anthropic'];

function lineOf(
  document: ReturnType<typeof parseDocument>,
  lineCounter: LineCounter,
  path: string[],
): number {
  const node = document.getIn(path, true) as { range?: [number, number, number] } | undefined;
  return lineCounter.linePos(node?.range?.[0] ?? 0).line + 1;
}

/**
 * Loads an agent file and, recursively, the agent files its `agents:` list names
 * (paths relative to it). The first definition is the file's own.
 */
export function loadAgentBundle(path: string): AgentDefinition[] {
  const byPath = new Map<string, AgentDefinition>();
  const visit = (file: string): AgentDefinition => {
    const absolute = resolve(file);
    const known = byPath.get(absolute);
    if (known !== undefined) return known;
    const { definition, agentFiles } = readAgentFile(absolute);
    byPath.set(absolute, definition);
    definition.agents = agentFiles.map((child) => visit(resolve(dirname(absolute), child)).name);
    return definition;
  };
  visit(path);
  return [...byPath.values()];
}

function unknownKeyOf(issue: z.core.$ZodIssue): string | undefined {
  return issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
}

/** Where key `key` of the map at `path` starts, when the document has it. */
function keyOffset(
  document: ReturnType<typeof parseDocument>,
  path: string[],
  key: string,
): number | undefined {
  const map = path.length === 0 ? document.contents : document.getIn(path, true);
  if (!isMap(map)) return undefined;
  const pair = map.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
  return isScalar(pair?.key) ? pair.key.range?.[0] : undefined;
}

/** Reads a script; `where` (the agent file and line that names it) starts the message when it is missing. */
export function loadScriptFile(path: string, where: string): Script {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AosError('not_found', `${where}: field "model": cannot read script ${path}`, {
      hint: 'model: scripted:FILE takes a path relative to the agent file',
      cause: error,
    });
  }
  return parseScript(text, path);
}

/** A stable digest of a definition, so re-registering the same content keeps its version. */
export function definitionDigest(definition: AgentDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}
