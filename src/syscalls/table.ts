/** The syscall table: every kernel operation, by name. */
import { approvalsSyscall, approveSyscall, denySyscall } from './approvals.js';
import { auditCheckpointSyscall, auditShowSyscall, auditVerifySyscall } from './audit.js';
import { budgetSyscall, cpuSetSyscall, cpuSyscall } from './cpu.js';
import { fsCatSyscall, fsDiffSyscall, fsGrepSyscall, fsHistorySyscall, fsListSyscall } from './fs-read.js';
import { fsExportSyscall, fsImportSyscall, fsRemoveSyscall, fsWriteSyscall } from './fs-write.js';
import { killSyscall } from './kill.js';
import { psSyscall } from './ps.js';
import { sendSyscall } from './send.js';
import { spawnSyscall } from './spawn.js';
import { traceSyscall } from './trace.js';
import { waitSyscall } from './wait.js';

export const syscalls = {
  spawn: spawnSyscall,
  ps: psSyscall,
  kill: killSyscall,
  wait: waitSyscall,
  send: sendSyscall,
  approvals: approvalsSyscall,
  approve: approveSyscall,
  deny: denySyscall,
  cpu: cpuSyscall,
  'cpu set': cpuSetSyscall,
  budget: budgetSyscall,
  'audit show': auditShowSyscall,
  'audit verify': auditVerifySyscall,
  'audit checkpoint': auditCheckpointSyscall,
  trace: traceSyscall,
  'fs ls': fsListSyscall,
  'fs cat': fsCatSyscall,
  'fs write': fsWriteSyscall,
  'fs rm': fsRemoveSyscall,
  'fs history': fsHistorySyscall,
  'fs grep': fsGrepSyscall,
  'fs diff': fsDiffSyscall,
  'fs export': fsExportSyscall,
  'fs import': fsImportSyscall,
} as const;

export type Syscalls = typeof syscalls;
export type SyscallName = keyof Syscalls;
