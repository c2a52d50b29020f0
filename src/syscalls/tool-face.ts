/**
 * Agent tools made from the syscall table: each syscall with a tool face becomes a tool
 * (under its name by the naming rule, and its earlier names) whose call dispatches the
 * syscall as the calling process. The model sets only the face's fields; the rest comes
 * from the caller (its pid, its namespace by default). A failure is an error result that
 * carries the error envelope, never an exception.
 */
import type { z } from 'zod';
import { AosError, toAosError } from '../errors.js';
import { errorResult, type Tool, textResult } from '../io/tool.js';
import type { Db, Queryable } from '../storage/db.js';
import { LeaseLostError } from '../storage/postgres-errors.js';
import { dispatch } from './dispatch.js';
import { type ToolFace, toolNameOf } from './faces.js';
import { loadProcessCaller } from './process-caller.js';
import type { ProcessCaller, Syscall } from './syscall.js';
import type { SyscallContext } from './syscall-context.js';
import { syscalls } from './table.js';

/** A caller to learn which fields `given` fills in (its values are never used). */
const sampleCaller: ProcessCaller = {
  kind: 'process',
  pid: 1,
  ppid: null,
  owner: 'local',
  priority: 0,
  capabilities: [],
  ownCapabilities: [],
  spawn: [],
  namespaces: ['process:1', 'agent:a', 'owner:local'],
};

/** A process's rights never change (its definition and ancestors are fixed at spawn): derived once. */
class CallerCache {
  private readonly callers = new Map<number, ProcessCaller>();

  async get(db: Queryable, pid: number): Promise<ProcessCaller> {
    let caller = this.callers.get(pid);
    if (caller === undefined) {
      caller = await loadProcessCaller(db, pid);
      if (this.callers.size >= 1000) this.callers.clear();
      this.callers.set(pid, caller);
    }
    return caller;
  }
}

/** The tools of every syscall with a tool face; `ports` gives the kernel's (called at each call). */
export function syscallTools(ports: () => SyscallContext): Tool[] {
  const callers = new CallerCache();
  return (Object.values(syscalls) as Syscall[]).flatMap((syscall) =>
    syscall.tool === undefined ? [] : toolsOf(syscall, syscall.tool, ports, callers),
  );
}

function toolsOf(
  syscall: Syscall,
  face: ToolFace,
  ports: () => SyscallContext,
  callers: CallerCache,
): Tool[] {
  const shape = (syscall.input as z.ZodObject).shape as Record<string, z.ZodType>;
  const givenFields = Object.keys(face.given?.(sampleCaller) ?? {});
  const picked = (syscall.input as z.ZodObject).pick(
    Object.fromEntries(face.fields.map((field) => [field, true])) as never,
  );
  // Fields the caller fills in, and those an earlier argument name may give, are optional for the
  // model; other keys go on to dispatch, which refuses unknown ones.
  const optional = [...givenFields, ...Object.values(face.renamed ?? {})].filter((field) =>
    face.fields.includes(field),
  );
  const input = picked.partial(Object.fromEntries(optional.map((field) => [field, true])) as never).loose();
  const run: Tool['run'] = async (args, context) => {
    try {
      const caller = await callers.get(context.db, context.pid);
      const call: Record<string, unknown> = { ...face.given?.(caller) };
      for (const [key, value] of Object.entries(args)) {
        const field = face.renamed?.[key] ?? key;
        if (field in shape && !face.fields.includes(field)) {
          throw new AosError('invalid_input', `${toolNameOf(syscall.name)}: an agent may not set ${field}`, {
            hint: `its arguments are: ${face.fields.join(', ')}`,
          });
        }
        if (value !== undefined) call[field] = value;
      }
      const base = ports();
      const where = face.transactional ? inTransaction(base, context.db) : base;
      const output = await dispatch(where, syscall.name, call, caller);
      return textResult(face.text?.(output) ?? JSON.stringify(output), output);
    } catch (error) {
      const failure = toAosError(error);
      // A failure of the machinery (a deadlock to retry, a lost lease, a bug) is not the model's
      // to read: it goes on up, as it would from any tool, and the operation deals with it.
      if (failure instanceof LeaseLostError) throw failure;
      if (
        failure.code === 'internal' &&
        failure.cause !== undefined &&
        !(failure.cause instanceof AosError)
      ) {
        throw failure.cause;
      }
      return errorResult(failure);
    }
  };
  return [toolNameOf(syscall.name), ...(face.aliases ?? [])].map((name) => ({
    name,
    description: face.description,
    input: input as unknown as z.ZodType<Record<string, unknown>>,
    annotations: face.annotations,
    ...(face.transactional
      ? { transactional: true, touches: (values: Record<string, unknown>) => face.touches?.(values) ?? [] }
      : {}),
    run,
  }));
}

/**
 * The ports for a kernel tool's call: its statements run in the transaction that journals
 * the call, and a failing handler is rolled back to a savepoint, so the journal entry (and the
 * audit entry of the failure) still commit.
 */
function inTransaction(ports: SyscallContext, tx: Queryable): SyscallContext {
  const outer = ports.db;
  const db: Db = {
    kind: outer.kind,
    location: outer.location,
    deliversNotifications: outer.deliversNotifications,
    query: (sql, params, options) => tx.query(sql, params, options),
    exec: (sql) => tx.exec(sql),
    transaction: (work) => work(tx),
    listen: (channel, onNotify) => outer.listen(channel, onNotify),
    bounded: (bounds) => outer.bounded(bounds),
    connection: () => outer.connection(),
    close: async () => {},
  };
  return {
    ...ports,
    db,
    register: () => Promise.reject(new AosError('forbidden', 'a process cannot register agent files')),
    async contain(work) {
      await tx.query('savepoint aos_syscall');
      try {
        const result = await work();
        await tx.query('release savepoint aos_syscall');
        return result;
      } catch (error) {
        await tx.query('rollback to savepoint aos_syscall');
        throw error;
      }
    },
  };
}
