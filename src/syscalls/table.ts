/** The syscall table: every kernel operation, by name. */
import { killSyscall } from './kill.js';
import { psSyscall } from './ps.js';
import { sendSyscall } from './send.js';
import { spawnSyscall } from './spawn.js';
import { waitSyscall } from './wait.js';

export const syscalls = {
  spawn: spawnSyscall,
  ps: psSyscall,
  kill: killSyscall,
  wait: waitSyscall,
  send: sendSyscall,
} as const;

export type Syscalls = typeof syscalls;
export type SyscallName = keyof Syscalls;
