/** ps, kill, wait, send: the syscalls as commands. */

import { formatContext } from '../../process/inspect.js';
import { contextSyscall } from '../../syscalls/context.js';
import { killSyscall } from '../../syscalls/kill.js';
import { pagesSyscall, recallSyscall } from '../../syscalls/pages.js';
import { psSyscall } from '../../syscalls/ps.js';
import { forkSyscall, replaySyscall } from '../../syscalls/replay.js';
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

export const contextCommand = syscallCommand(contextSyscall, {
  positional: ['pid'],
  examples: ['aos context 12', 'aos context 12 --step 7', 'aos context 12 --json'],
  format: (view) => formatContext(view as never),
});

export const pagesCommand = syscallCommand(pagesSyscall, {
  positional: ['pid'],
  examples: ['aos pages 12', 'aos pages 12 --json'],
  format: (pages) =>
    pages.length === 0
      ? 'no pages: nothing was paged out of this context'
      : pages
          .map(
            (page) =>
              `${page.id.padEnd(5)} operations ${page.fromOp}-${page.toOp}, ${page.messages} messages, ${page.tokens} tokens: ${page.summary}`,
          )
          .join('\n'),
});

export const recallCommand = syscallCommand(recallSyscall, {
  positional: ['pid', 'query'],
  examples: [
    'aos recall 12 p3',
    'aos recall 12 "what did the logs say about the outage"',
    'aos recall 12 vault --k 3 --json',
  ],
  format: (results) =>
    results.length === 0
      ? 'nothing found'
      : results
          .map(
            (result) =>
              `── ${result.namespace} ${result.id} (${result.kind}${result.score === null ? '' : `, score ${result.score.toFixed(3)}`}) ──\n${result.text}`,
          )
          .join('\n'),
});

export const replayCommand = syscallCommand(replaySyscall, {
  positional: ['pid'],
  examples: ['aos replay 12', 'aos replay 12 --json'],
  format: (report) =>
    report.identical
      ? `process ${report.pid} replays identically: ${report.operations} operations, ${report.modelCalls} model calls (${report.requestsCompared} requests rebuilt byte for byte), the same exit status and result`
      : `process ${report.pid} does NOT replay identically:\n${report.differences.map((difference) => `  ${difference.op === null ? 'end' : `operation ${difference.op}`}: ${difference.what}`).join('\n')}`,
  exitCode: (report) => (report.identical ? 0 : 5),
});

export const forkCommand = syscallCommand(forkSyscall, {
  positional: ['pid'],
  examples: [
    'aos fork 12 --at 9',
    'aos fork 12 --at 9 --model openai:gpt-4o-mini',
    'aos fork 12 --at 9 --prompt better.txt --json',
  ],
  format: (process) =>
    `process ${process.pid} forked (${process.agent}); a worker runs it: aos wait ${process.pid}`,
});
