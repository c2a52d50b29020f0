/** The readable report of bench/chaos, from the same object `--json` prints. */
import type { InFlightClasses, JournaledRerun, LostProcess, MessageCounts } from './measure.js';
import type { TakeoverStats } from './takeover.js';

export interface Report {
  date: string;
  machine: { cpus: number; loadAtStart: number; loadDuringRun: { min: number; max: number } };
  options: Record<string, unknown>;
  durationS: { window: number; drain: number };
  processes: number;
  workersStarted: number;
  kills: number;
  stops: number;
  slices: number;
  journal: Record<string, number>;
  lost: {
    total: number;
    failed: number;
    wrongResult: number;
    diverged: number;
    stuck: number;
    examples: LostProcess[];
  };
  journaledReruns: { total: number; byStoppedWorker: number; examples: JournaledRerun[] };
  inFlight: InFlightClasses;
  overlappingRuns: number;
  takeover: { leaseMs: number; afterKill: TakeoverStats; afterStop: TakeoverStats };
  deadlocks: number;
  leaseLosses: { liveWorkers: number; stoppedWorker: number };
  messages: MessageCounts;
  modelTurns: { turns: number; duplicated: number };
  duplicateFinals: { kind: string; count: number }[];
  errors: { message: string; count: number }[];
}

const ms = (value: number | undefined) => (value === undefined ? '-' : `${value} ms`);

function takeoverLine(stats: TakeoverStats): string {
  return `${stats.held} held, p50 ${ms(stats.p50Ms)}, p99 ${ms(stats.p99Ms)}, max ${ms(stats.maxMs)}, never taken over ${stats.never}`;
}

/** The report as text, one measure per line, correctness counts first. */
export function formatReport(report: Report): string {
  const { lost, inFlight, messages } = report;
  const lines = [
    `bench/chaos ${report.date}`,
    `  machine: ${report.machine.cpus} CPUs, load ${report.machine.loadAtStart.toFixed(1)} at start, ${report.machine.loadDuringRun.min.toFixed(1)} to ${report.machine.loadDuringRun.max.toFixed(1)} during the run`,
    `  options: ${JSON.stringify(report.options)}`,
    `  ${report.processes} processes, ${report.workersStarted} workers started, ${report.kills} SIGKILLs, ${report.stops} SIGSTOPs, ${report.slices} slices; window ${report.durationS.window.toFixed(1)} s, drain ${report.durationS.drain.toFixed(1)} s`,
    `  journal rows by status: ${JSON.stringify(report.journal)}`,
    '',
    `lost processes:                 ${lost.total} (failed ${lost.failed}, wrong result ${lost.wrongResult}, diverged ${lost.diverged}, stuck ${lost.stuck})`,
    ...lost.examples.map(
      (example) => `    pid ${example.pid} ${example.agent}: ${example.kind}: ${example.detail}`,
    ),
    `journaled steps re-run:         ${report.journaledReruns.total} (by the stopped worker ${report.journaledReruns.byStoppedWorker})`,
    ...report.journaledReruns.examples.map(
      (rerun) =>
        `    pid ${rerun.pid} step ${rerun.name}: began ${rerun.startedAt} in worker ${rerun.worker}, journaled ${rerun.journaledAt}`,
    ),
    `in-flight steps at a kill:      ${inFlight.total}: ran once ${inFlight.ranOnce}, twice ${inFlight.ranTwice}, 3+ ${inFlight.ranThreeOrMore}; never journaled ${inFlight.neverJournaled}; overlapping runs ${inFlight.overlapping}`,
    `step bodies run concurrently:   ${report.overlappingRuns} (two workers ran the same step at overlapping times)`,
    `takeover after SIGKILL:         ${takeoverLine(report.takeover.afterKill)} (lease ${report.takeover.leaseMs} ms)`,
    `takeover after SIGSTOP:         ${takeoverLine(report.takeover.afterStop)}`,
    `deadlocks:                      ${report.deadlocks}`,
    `lease losses of live workers:   ${report.leaseLosses.liveWorkers} (and ${report.leaseLosses.stoppedWorker} in the stopped worker after SIGCONT, expected)`,
    `messages received exactly once: ${messages.receivedOnce} of ${messages.expected} (sent ${messages.sent}, twice or more ${messages.receivedTwiceOrMore}, missing ${messages.missing})`,
    `model turns answered once:      ${report.modelTurns.turns - report.modelTurns.duplicated} of ${report.modelTurns.turns} (ops with two model rows: ${report.modelTurns.duplicated})`,
    `ops journaled final twice:      ${report.duplicateFinals.length === 0 ? 0 : report.duplicateFinals.map((row) => `${row.kind} ${row.count}`).join(', ')}`,
    `worker error events:            ${report.errors.length === 0 ? 'none' : ''}`,
    ...report.errors.map((error) => `    ${error.count}× ${error.message}`),
    '',
  ];
  return `${lines.join('\n')}\n`;
}
