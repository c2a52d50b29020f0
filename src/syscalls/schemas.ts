/** Schemas shared by several syscalls: the process as the APIs show it. */
import { z } from 'zod';

export const processStateSchema = z.enum(['ready', 'running', 'waiting', 'sleeping', 'stopped', 'exited']);

export const processSchema = z.object({
  pid: z.number().int(),
  ppid: z.number().int().nullable(),
  owner: z.string(),
  agent: z.string(),
  agentVersion: z.number().int(),
  state: processStateSchema,
  waitReason: z.string().nullable(),
  priority: z.number().int(),
  steps: z.number().int(),
  tokens: z.number().int(),
  cachedTokens: z.number().int(),
  cost: z.number().describe('USD'),
  model: z.string().nullable(),
  exitStatus: z.number().int().nullable(),
  result: z.unknown(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  worker: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  exitedAt: z.string().nullable(),
});

export const pidSchema = z.coerce.number().int().positive();
