/**
 * The file-system tools: fs_read, fs_write, fs_list, fs_grep, fs_history, fs_diff and
 * fs_remove. They act in the process's own namespace (process:PID) unless told to use
 * another of its namespaces (its agent's, agent:NAME, or its owner's, owner:NAME); any
 * other namespace is a `forbidden: ...` result. Failures are results, never exceptions.
 *
 * fs_write is idempotent: writing the content a path already has adds no version, so a
 * write re-run after a crash leaves the same files. fs_remove is not (a second removal
 * would report not_found), so a crash during it is reported as an unknown outcome.
 */
import { z } from 'zod';
import { AosError } from '../../errors.js';
import { formatBytes } from '../../fs/content.js';
import { diffFiles } from '../../fs/diff-files.js';
import { grepFiles } from '../../fs/grep-files.js';
import { listFiles } from '../../fs/list-files.js';
import { fileHistory, readFile } from '../../fs/read-file.js';
import { removeFile, writeFile } from '../../fs/write-file.js';
import { processNamespaces } from '../../trust/namespaces.js';
import {
  defineTool,
  errorResult,
  type Tool,
  type ToolContext,
  type ToolOutcome,
  textResult,
} from '../tool.js';

/** Options of the file-system tools. */
export interface FileToolOptions {
  /** The size limit per file; default AOS_FS_MAX_FILE_BYTES, else 10 MiB. */
  maxFileBytes?: number;
}

const namespace = z
  .string()
  .optional()
  .describe('process:PID (this process, the default), agent:NAME (its agent) or owner:NAME (its owner)');
const path = z.string().min(1).describe('an absolute path such as /notes/plan.md');
const version = z.number().int().positive();

/** Runs `work` in the namespace the call names (checked), turning expected errors into results. */
async function inNamespace(
  requested: string | undefined,
  context: ToolContext,
  work: (namespace: string) => Promise<ToolOutcome>,
): Promise<ToolOutcome> {
  const allowed = processNamespaces({
    pid: context.pid,
    agentName: context.process.agent_name,
    owner: context.process.owner,
  });
  const chosen = requested ?? allowed[0]!;
  if (!allowed.includes(chosen)) {
    return errorResult(
      `forbidden: this process may use only the namespaces ${allowed.join(', ')}, not "${chosen}"`,
    );
  }
  try {
    return await work(chosen);
  } catch (error) {
    if (error instanceof AosError) {
      return errorResult(
        `${error.code}: ${error.message}${error.hint === undefined ? '' : ` (hint: ${error.hint})`}`,
      );
    }
    throw error;
  }
}

const read = defineTool({
  name: 'fs_read',
  description:
    'Read a file (the latest version, or a given one). With offset and limit, read only those lines (1-based). Binary files are described, not shown.',
  input: z.object({
    path,
    namespace,
    version: version.optional(),
    offset: z.number().int().positive().optional().describe('the first line to read (1-based)'),
    limit: z.number().int().positive().optional().describe('how many lines to read'),
  }),
  annotations: { readOnly: true, idempotent: true },
  async run(input, context) {
    return inNamespace(input.namespace, context, async (name) => {
      const file = await readFile(context.db, { namespace: name, path: input.path, version: input.version });
      const output = { path: file.path, version: file.version, kind: file.kind, size: file.size };
      if (file.kind === 'binary') {
        return textResult(
          `${file.path} (version ${file.version}) is a binary file of ${formatBytes(file.size)}, sha256 ${file.sha256}: its content is not shown`,
          output,
        );
      }
      if (input.offset === undefined && input.limit === undefined) return textResult(file.content, output);
      const lines = file.content.split('\n');
      if (file.content.endsWith('\n')) lines.pop();
      const first = input.offset ?? 1;
      const shown = lines.slice(first - 1, input.limit === undefined ? undefined : first - 1 + input.limit);
      const last = first + shown.length - 1;
      const more = last < lines.length ? `; read on with offset ${last + 1}` : '';
      const note =
        shown.length === 0
          ? `[${file.path} has ${lines.length} lines]`
          : `[lines ${first}-${last} of ${lines.length}${more}]`;
      return textResult(`${shown.join('\n')}\n${note}`, { ...output, lines: lines.length, first, last });
    });
  },
});

/** fs_write with the size limit in force. */
function writeTool(maxBytes: number | undefined): Tool {
  return defineTool({
    name: 'fs_write',
    description:
      'Write a file: its content becomes the new version of the path (earlier versions stay in its history). Writing the content it already has adds no version.',
    input: z.object({ path, content: z.string(), namespace }),
    annotations: { idempotent: true },
    async run(input, context) {
      return inNamespace(input.namespace, context, async (name) => {
        const written = await writeFile(context.db, {
          namespace: name,
          path: input.path,
          content: input.content,
          authorPid: context.pid,
          ...(maxBytes === undefined ? {} : { maxBytes }),
        });
        const output = {
          path: written.path,
          version: written.version,
          size: written.size,
          created: written.created,
        };
        return textResult(JSON.stringify(output), output);
      });
    },
  });
}

const list = defineTool({
  name: 'fs_list',
  description:
    'List a directory (default /): its files and subdirectories, or with recursive every file below it.',
  input: z.object({ path: z.string().optional(), namespace, recursive: z.boolean().optional() }),
  annotations: { readOnly: true, idempotent: true },
  async run(input, context) {
    return inNamespace(input.namespace, context, async (name) => {
      const entries = await listFiles(context.db, {
        namespace: name,
        path: input.path ?? '/',
        recursive: input.recursive ?? false,
      });
      const text =
        entries.length === 0
          ? '(empty)'
          : entries
              .map((entry) =>
                entry.type === 'directory'
                  ? `${entry.path}/  (${entry.files} file${entry.files === 1 ? '' : 's'}, ${formatBytes(entry.size)})`
                  : `${entry.path}  (version ${entry.version}, ${entry.kind}, ${formatBytes(entry.size)})`,
              )
              .join('\n');
      return textResult(text, entries);
    });
  },
});

const grep = defineTool({
  name: 'fs_grep',
  description:
    'Search the latest text files under path (default /) for a regular expression (PostgreSQL syntax: \\y is a word boundary) or, with fixed, a plain string. Prints path:line: text.',
  input: z.object({
    pattern: z.string().min(1),
    path: z.string().optional(),
    namespace,
    fixed: z.boolean().optional(),
    ignoreCase: z.boolean().optional(),
  }),
  annotations: { readOnly: true, idempotent: true },
  async run(input, context) {
    return inNamespace(input.namespace, context, async (name) => {
      const found = await grepFiles(context.db, {
        namespace: name,
        pattern: input.pattern,
        path: input.path ?? '/',
        fixed: input.fixed ?? false,
        ignoreCase: input.ignoreCase ?? false,
        maxMatches: 200,
      });
      const lines = found.matches.map((match) => `${match.path}:${match.line}: ${match.text}`);
      if (found.truncated) lines.push('[more matches: narrow the path or the pattern]');
      return textResult(lines.length === 0 ? 'no matches' : lines.join('\n'), found);
    });
  },
});

const history = defineTool({
  name: 'fs_history',
  description: 'The versions of a file, newest first, removals included.',
  input: z.object({ path, namespace }),
  annotations: { readOnly: true, idempotent: true },
  async run(input, context) {
    return inNamespace(input.namespace, context, async (name) => {
      const versions = await fileHistory(context.db, { namespace: name, path: input.path });
      const text = versions
        .map(
          (each) =>
            `version ${each.version}  ${each.createdAt}  ${each.kind === 'removed' ? 'removed' : `${each.kind}, ${formatBytes(each.size)}`}  by ${each.authorPid === null ? 'a user' : `process ${each.authorPid}`}`,
        )
        .join('\n');
      return textResult(text, versions);
    });
  },
});

const diff = defineTool({
  name: 'fs_diff',
  description:
    'A unified diff between two versions of a file: by default the latest and the one before it. Version 0 is the empty file before version 1.',
  input: z.object({
    path,
    namespace,
    from: z.number().int().min(0).optional(),
    to: version.optional(),
  }),
  annotations: { readOnly: true, idempotent: true },
  async run(input, context) {
    return inNamespace(input.namespace, context, async (name) => {
      const compared = await diffFiles(context.db, {
        namespace: name,
        path: input.path,
        ...(input.from === undefined ? {} : { from: input.from }),
        ...(input.to === undefined ? {} : { to: input.to }),
      });
      const text = compared.identical
        ? `versions ${compared.from?.version ?? 0} and ${compared.to.version} of ${compared.path} are identical`
        : compared.diff;
      return textResult(text, compared);
    });
  },
});

const remove = defineTool({
  name: 'fs_remove',
  description:
    'Remove a file. Its history stays: earlier versions can still be read with fs_read and version.',
  input: z.object({ path, namespace }),
  annotations: { destructive: true },
  async run(input, context) {
    return inNamespace(input.namespace, context, async (name) => {
      const removed = await removeFile(context.db, {
        namespace: name,
        path: input.path,
        authorPid: context.pid,
      });
      const output = { path: removed.path, version: removed.version, removed: true };
      return textResult(JSON.stringify(output), output);
    });
  },
});

/** The file-system tools, in a fixed order. */
export function fileTools(options: FileToolOptions = {}): Tool[] {
  return [read, writeTool(options.maxFileBytes), list, grep, history, diff, remove];
}
