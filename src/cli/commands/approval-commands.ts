/** approvals, approve, deny: the syscalls as commands. */
import { approvalsSyscall, approveSyscall, denySyscall } from '../../syscalls/approvals.js';
import { syscallCommand } from '../command.js';

export const approvalsCommand = syscallCommand(approvalsSyscall, {
  positional: [],
  examples: ['aos approvals', 'aos approvals --pid 12 --json', 'aos approvals --all'],
  format: (approvals) =>
    approvals.length === 0
      ? 'no approvals waiting'
      : approvals
          .map(
            (approval) =>
              `${String(approval.id).padStart(5)}  process ${approval.pid}  ${approval.decision ?? 'waiting'}  ${approval.question}`,
          )
          .join('\n'),
});

export const approveCommand = syscallCommand(approveSyscall, {
  positional: ['pid', 'id'],
  examples: ['aos approve 12 3', 'aos approve 12 3 --reason "checked the diff" --json'],
  format: (approval) => `approved ${approval.id} of process ${approval.pid}: ${approval.question}`,
});

export const denyCommand = syscallCommand(denySyscall, {
  positional: ['pid', 'id'],
  examples: ['aos deny 12 3 --reason "not on a Friday"', 'aos deny 12 3 --json'],
  format: (approval) =>
    `denied ${approval.id} of process ${approval.pid}: ${approval.question}${approval.reason === null ? '' : ` (${approval.reason})`}`,
});
