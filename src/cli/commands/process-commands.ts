/** ps, kill, wait, send: the syscalls as commands. */

import { killSyscall } from '../../syscalls/kill.js';
import { psSyscall } from '../../syscalls/ps.js';
import { sendSyscall } from '../../syscalls/send.js';
import { traceSyscall } from '../../syscalls/trace.js';
import { waitSyscall } from '../../syscalls/wait.js';
import { formatTrace, type Trace } from '../../trust/trace.js';
import { syscallCommand } from '../command.js';
import { formatOutcome, formatProcessTable } from '../format.js';

export const psCommand = syscallCommand(psSyscall, {
  positional: [],
  examples: ['aos ps', 'aos ps --all --json', 'aos ps --state waiting'],
  format: (processes) => formatProcessTable(processes),
});

export const killCommand = syscallCommand(killSyscall, {
  positional: ['pid', 'signal'],
  examples: ['aos kill 12', 'aos kill 12 KILL', 'aos kill 12 --signal STOP --json'],
  format: (output) => `sent ${output.signal} to process ${output.pid}; it is ${output.state}`,
});

export const waitCommand = syscallCommand(waitSyscall, {
  positional: ['pid'],
  examples: ['aos wait 12', 'aos wait 12 --timeout 30s --json'],
  format: formatOutcome,
  exitCode: (process) => Math.min(process.exitStatus ?? 0, 255),
});

export const sendCommand = syscallCommand(sendSyscall, {
  positional: ['pid', 'message'],
  examples: ['aos send 12 "the build is green"'],
  format: (output) => `message ${output.messageId} sent to process ${output.pid}`,
});

export const traceCommand = syscallCommand(traceSyscall, {
  positional: ['pid'],
  examples: [
    'aos trace 12',
    'aos trace 12 --json',
    'OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4318 aos trace 12 --otlp',
  ],
  format: (trace) => {
    const text = formatTrace(trace as Trace);
    const { exported } = trace as { exported?: { traceId: string; spans: number; endpoint: string } };
    return exported === undefined
      ? text
      : `${text}
sent ${exported.spans} spans to ${exported.endpoint} (trace ${exported.traceId})`;
  },
});
