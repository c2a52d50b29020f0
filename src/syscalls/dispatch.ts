/**
 * The one dispatch path: every face (the library's kernel.call, the CLI, agent tools,
 * later HTTP and MCP) reaches a syscall here. It validates the input against the
 * syscall's schema, checks the caller's rights, runs the handler over the narrow
 * SyscallContext, writes one audit entry (for a change of state, and for every denial),
 * and turns anything thrown into an AosError with a code of the envelope.
 */
import type { z } from 'zod';
import { AosError, toAosError } from '../errors.js';
import { appendAudit } from '../trust/audit.js';
import { authorize } from './capabilities.js';
import type { Caller, Syscall } from './syscall.js';
import type { SyscallContext } from './syscall-context.js';
import { type SyscallName, type Syscalls, syscalls } from './table.js';

/** Input and output types of a syscall, by name. */
export type SyscallInput<Name extends SyscallName> = z.input<Syscalls[Name]['input']>;
export type SyscallOutput<Name extends SyscallName> = z.output<Syscalls[Name]['output']>;

/** The syscall named `name`; `not_found` when there is none. */
export function syscallNamed(name: string): Syscall {
  const syscall = (syscalls as Record<string, Syscall>)[name];
  if (syscall === undefined) {
    throw new AosError('not_found', `no syscall named "${name}"`, { hint: 'see: aos --desc' });
  }
  return syscall;
}

/** Calls syscall `name` as `caller`: validate, authorize, run, audit once; throws an AosError. */
export async function dispatch<Name extends SyscallName>(
  context: SyscallContext,
  name: Name,
  input: SyscallInput<Name>,
  caller: Caller,
): Promise<SyscallOutput<Name>>;
export async function dispatch(
  context: SyscallContext,
  name: string,
  input: unknown,
  caller: Caller,
): Promise<unknown>;
export async function dispatch(
  context: SyscallContext,
  name: string,
  input: unknown,
  caller: Caller,
): Promise<unknown> {
  const syscall = syscallNamed(name);
  const parsed = syscall.input.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : 'input';
    throw new AosError('invalid_input', `${name}: ${field}: ${issue.message}`, {
      hint: `see: aos ${name} --desc`,
    });
  }
  const auditedInput = () =>
    syscall.auditInput === undefined ? parsed.data : syscall.auditInput(parsed.data as never);
  const denial = authorize(caller, syscall, parsed.data);
  if (denial !== undefined) {
    await auditCall(context, syscall, auditedInput(), caller, undefined, denial);
    throw denial;
  }
  let output: unknown;
  try {
    const run = () => syscall.handler(context, parsed.data as never, caller);
    output = await (context.contain === undefined ? run() : context.contain(run));
  } catch (error) {
    const failure = toAosError(error);
    if (!syscall.readOnly) await auditCall(context, syscall, auditedInput(), caller, undefined, failure);
    throw failure;
  }
  if (!syscall.readOnly) await auditCall(context, syscall, auditedInput(), caller, output, undefined);
  return output;
}

/** The audit entry of a call: who asked for what, how it went, and the rule that denied it. */
async function auditCall(
  context: SyscallContext,
  syscall: Syscall,
  input: unknown,
  caller: Caller,
  output: unknown,
  error: AosError | undefined,
): Promise<void> {
  const pidOf = (value: unknown) =>
    value !== null && typeof value === 'object' && typeof (value as { pid?: unknown }).pid === 'number'
      ? (value as { pid: number }).pid
      : null;
  const rule = error?.details?.rule;
  await appendAudit(context.db, {
    kind: 'syscall',
    pid: pidOf(input) ?? pidOf(output) ?? caller.pid ?? null,
    actor: caller.kind === 'process' ? `process:${caller.pid}` : 'user:local',
    data: {
      name: syscall.name,
      input,
      ok: error === undefined,
      ...(error === undefined ? {} : { error: error.code }),
      ...(typeof rule === 'string' ? { rule } : {}),
    },
  });
}
