/** Schemas of the agent file system as the APIs show it: versions, contents, listings, searches, diffs, reports. */
import { z } from 'zod';

export const namespaceSchema = z
  .string()
  .min(1)
  .describe('the namespace: process:PID, agent:NAME, owner:NAME or any other name');

export const fileVersionSchema = z.object({
  namespace: z.string(),
  path: z.string(),
  version: z.number().int(),
  kind: z.enum(['text', 'binary', 'removed']),
  size: z.number().int().describe('bytes'),
  sha256: z.string().nullable().describe('hex SHA-256 of the bytes; null for a removal'),
  authorPid: z.number().int().nullable().describe('the process that wrote it; null for a user'),
  createdAt: z.string(),
});

export const fileContentSchema = fileVersionSchema.extend({
  kind: z.enum(['text', 'binary']),
  content: z.string().describe('the text, or the bytes in base64 for a binary file'),
  encoding: z.enum(['utf8', 'base64']),
});

export const writtenFileSchema = fileVersionSchema.extend({
  created: z.boolean().describe('false when the content equalled the latest version: no version was added'),
});

export const fileEntrySchema = z.object({
  path: z.string(),
  type: z.enum(['file', 'directory']),
  kind: z.enum(['text', 'binary']).nullable(),
  version: z.number().int().nullable(),
  size: z.number().int().describe('bytes; for a directory, of all the files under it'),
  files: z.number().int().describe('files under a directory; 1 for a file'),
  updatedAt: z.string(),
});

export const grepResultSchema = z.object({
  matches: z.array(
    z.object({ path: z.string(), version: z.number().int(), line: z.number().int(), text: z.string() }),
  ),
  truncated: z.boolean(),
});

export const fileDiffSchema = z.object({
  namespace: z.string(),
  path: z.string(),
  from: fileVersionSchema.nullable().describe('null for version 0, the empty file before version 1'),
  to: fileVersionSchema,
  binary: z.boolean(),
  identical: z.boolean(),
  diff: z.string().describe('the unified diff; for binary files one line saying they differ'),
});

export const exportReportSchema = z.object({
  namespace: z.string(),
  directory: z.string(),
  files: z.array(
    z.object({
      path: z.string(),
      target: z.string(),
      version: z.number().int(),
      kind: z.enum(['text', 'binary']),
      size: z.number().int(),
    }),
  ),
  bytes: z.number().int(),
});

export const importReportSchema = z.object({
  namespace: z.string(),
  directory: z.string(),
  files: z.array(writtenFileSchema.extend({ source: z.string() })),
  skipped: z.array(z.object({ source: z.string(), reason: z.string() })),
  created: z.number().int(),
  unchanged: z.number().int(),
});
