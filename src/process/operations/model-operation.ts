/**
 * A model call as an operation, through the CPU scheduler: the request is built when the
 * call is made (so it sees signals delivered just before), a rationed device must grant
 * a slot first (else the process waits for one, state waiting/rate-limit), usage and cost
 * are journaled with the answer. A device that is down parks the process (waiting/device)
 * until it answers again (device-breaker.ts). INT aborts the call and it is made again, and
 * so do the deadlines (wall time, TERM grace: the boundary then ends the process; a per-call
 * timeout fails the call as the device's fault). Any other provider failure is journaled and
 * thrown to the program.
 */
import { DeviceDownError } from '../../cpu/device-health.js';
import { acquireCpu, costNanos as costOf, isRationed, releaseCpu } from '../../cpu/devices.js';
import type { ModelRequest, ModelResponse } from '../../cpu/model.js';
import { AosError, toAosError } from '../../errors.js';
import { errorRecord, recordedError } from '../error-record.js';
import type { Execution } from '../execution.js';
import { digestOf } from '../journal.js';
import type { LiveOutcome, Recorded } from '../operation.js';
import type { ProgramModelRequest } from '../program.js';
import type { Slice } from '../slice.js';
import { CallDeadlines } from './call-deadlines.js';
import { announceLimits, breakerNameOf, DeviceBreaker } from './device-breaker.js';

/** A model call of `execution`; `request` may be a function that builds it at call time. */
export function modelOperation(
  execution: Execution,
  request: RequestSource,
  purpose?: string,
): Promise<ModelResponse> {
  return execution.operation(
    { kind: 'model', name: 'model', ...(purpose === undefined ? {} : { input: { purpose } }), request },
    (slice, op) => callModel(slice, op, request, purpose),
    decodeModelResponse,
  );
}

/** A request, or a function that builds it when the call is made. */
export type RequestSource = ProgramModelRequest | (() => ProgramModelRequest | Promise<ProgramModelRequest>);

/** A journaled model answer as the program sees it; a journaled failure is thrown again. */
export function decodeModelResponse(recorded: Recorded): ModelResponse {
  if (recorded.status !== 'done') throw recordedError(recorded.output);
  const output = (recorded.output ?? {}) as Partial<ModelResponse>;
  return {
    content: output.content ?? '',
    toolCalls: output.toolCalls ?? [],
    usage: recorded.usage ?? { inputTokens: 0, outputTokens: 0 },
    ...(output.meta === undefined ? {} : { meta: output.meta }),
  };
}

/** A program's request as a driver takes it, with the model string it goes to; `invalid_input` for no model or an unknown tool. */
export function toModelRequest(
  execution: Execution,
  request: ProgramModelRequest,
): { model: string; modelRequest: ModelRequest } {
  const model = request.model ?? execution.model;
  if (model === undefined) {
    throw new AosError('invalid_input', `${execution.definition.name}: a model call names no model`, {
      hint: 'give the request a model, the program a model option, or spawn it with --model',
    });
  }
  const tools = (request.tools ?? []).map((name) => {
    const spec = execution.toolSpec(name);
    if (spec === undefined) {
      throw new AosError(
        'invalid_input',
        `${execution.definition.name}: a model request offers unknown tool "${name}"`,
        {
          hint: `the tools here are: ${[...execution.tools.keys()].join(', ')}`,
        },
      );
    }
    return spec;
  });
  const modelRequest: ModelRequest = {
    model: model.slice(model.indexOf(':') + 1),
    system: request.system ?? '',
    messages: request.messages,
    tools,
    ...(request.breakpoints === undefined ? {} : { breakpoints: request.breakpoints }),
  };
  return { model, modelRequest };
}

async function callModel(
  slice: Slice,
  op: number,
  build: RequestSource,
  purpose: string | undefined,
): Promise<LiveOutcome> {
  const execution = slice.execution;
  const request = typeof build === 'function' ? await build() : build;
  const { model, modelRequest } = toModelRequest(execution, request);
  await slice.vouch();
  const device = await slice.device(model);
  const host = execution.host;
  const breaker = new DeviceBreaker(
    host.db,
    breakerNameOf(model, device),
    slice.lease.pid,
    execution.definition,
  );
  const gate = await breaker.ask();
  if (gate.kind === 'park') return { kind: 'blocked', block: gate.block(op) };
  let counted = 0;
  let grantId: number | undefined;
  if (isRationed(device)) {
    counted = host.tokens.countRequest(modelRequest);
    const estimate = Math.ceil(host.tokens.estimate(model, modelRequest) * 1.05);
    // The first call of a slice always gets its slot when the device has room, so every slice
    // makes progress; later ones give way to fairer processes (fair share at the device).
    const mayDefer = slice.modelCallsGranted > 0;
    const acquired = await slice.write(() =>
      acquireCpu(host.db, device.name, slice.lease.pid, estimate, mayDefer),
    );
    if (!acquired.granted) {
      return {
        kind: 'blocked',
        block: {
          state: 'waiting',
          reason: 'rate-limit',
          detail: { device: device.name },
          callId: `op${op}`,
          wakeAt: acquired.retryAt,
          device: device.name,
          seenWakeSeq: null,
        },
      };
    }
    grantId = acquired.grantId;
    slice.modelCallsGranted += 1;
  }
  try {
    await slice.vouch();
  } catch (error) {
    if (grantId !== undefined) await releaseCpu(host.db, grantId, null).catch(() => {});
    throw error;
  }
  const interrupt = slice.control.beginModelCall(execution.definition.termGraceMs);
  const deadlines = new CallDeadlines(slice.callDeadline(), execution.definition.modelTimeoutMs);
  const signal = AbortSignal.any([interrupt, ...deadlines.signals]);
  const callStartedAt = new Date();
  let response: ModelResponse;
  let reported: number | null = null;
  try {
    response = await execution.driver(model).complete(modelRequest, { signal, gate: breaker.gate });
    reported = response.usage.estimated === true ? null : response.usage.inputTokens;
  } catch (error) {
    if (slice.control.everything.signal.aborted) return { kind: 'ended' };
    // Wall time or TERM grace is over: the boundary the operation passes again ends the process.
    if (deadlines.processOver()) return { kind: 'retry' };
    // INT, or TERM's grace over: the boundary delivers the signal, then the call is made again (or the process ends).
    if (interrupt.aborted) return { kind: 'retry' };
    const aosError = deadlines.callOver() ? deadlines.timeoutError(model) : failureOf(error);
    if (aosError.code === 'internal') throw error;
    const parked = await breaker.failed(error, aosError);
    if (parked !== undefined) return { kind: 'blocked', block: parked.block(op) };
    const output = {
      error: {
        ...errorRecord(aosError),
        ...(aosError.details === undefined ? {} : { details: aosError.details }),
      },
    };
    await slice.appendResult({
      kind: 'model',
      name: model,
      status: 'failed',
      ...(purpose === undefined ? {} : { input: { purpose } }),
      output,
      countsAsStep: true,
      startedAt: callStartedAt,
      op,
      audit: { kind: 'model-call', data: { model, status: 'failed', error: aosError.code } },
    });
    return { kind: 'done', recorded: { status: 'failed', output, usage: null } };
  } finally {
    slice.control.endModelCall();
    if (grantId !== undefined) await releaseCpu(host.db, grantId, reported);
  }
  await breaker.succeeded();
  if (device !== undefined && response.rateLimits !== undefined) {
    await announceLimits(host.db, device.name, response.rateLimits);
  }
  if (counted > 0 && reported !== null) host.tokens.calibrate(model, counted, reported);
  if (slice.control.arrived.has('INT')) slice.control.arrived.delete('INT'); // it came too late to interrupt
  const costNanos = costOf(device, response.usage);
  const output = {
    content: response.content,
    toolCalls: response.toolCalls,
    costNanos,
    ...(response.meta === undefined ? {} : { meta: response.meta }),
    ...(request.accounting === undefined ? {} : { context: request.accounting }),
    request_sha256: requestDigest(modelRequest),
  };
  await slice.appendResult({
    kind: 'model',
    name: model,
    status: 'done',
    ...(purpose === undefined ? {} : { input: { purpose } }),
    output,
    usage: response.usage,
    costNanos,
    countsAsStep: true,
    startedAt: callStartedAt,
    op,
    audit: {
      kind: 'model-call',
      data: {
        model,
        usage: response.usage,
        costNanos,
        toolCalls: response.toolCalls.map((call) => call.name),
        output_sha256: digestOf(output),
      },
    },
  });
  return { kind: 'done', recorded: { status: 'done', output, usage: response.usage } };
}

/** A driver's failure as an AosError; a park the breaker asked for keeps the failure it was for. */
function failureOf(error: unknown): AosError {
  return error instanceof DeviceDownError ? error.failure : toAosError(error);
}

/** The digest of what a model was asked (model, system prompt, messages, tools): aos replay rebuilds each request and compares. */
export function requestDigest(request: ModelRequest): string {
  return digestOf({
    model: request.model,
    system: request.system,
    messages: request.messages,
    tools: request.tools.map((tool) => tool.name),
  });
}
