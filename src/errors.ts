/**
 * The one error type of aos: a code from design.md's table, a message, a hint that
 * says what to do, and whether retrying can help. Codes map to HTTP statuses and CLI
 * exit codes here and nowhere else.
 */

export type ErrorCode =
  | 'invalid_input'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'limit_exceeded'
  | 'internal'
  | 'unavailable'
  | 'timeout';

const statusByCode: Record<ErrorCode, number> = {
  invalid_input: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  limit_exceeded: 429,
  internal: 500,
  unavailable: 503,
  timeout: 504,
};

const exitCodeByCode: Record<ErrorCode, number> = {
  invalid_input: 2,
  forbidden: 4,
  not_found: 3,
  conflict: 5,
  limit_exceeded: 8,
  internal: 1,
  unavailable: 6,
  timeout: 7,
};

const retryableByDefault: Record<ErrorCode, boolean> = {
  invalid_input: false,
  forbidden: false,
  not_found: false,
  conflict: false,
  limit_exceeded: true,
  internal: false,
  unavailable: true,
  timeout: true,
};

/** All error codes, in the order of design.md's table. */
export const errorCodes = Object.keys(statusByCode) as ErrorCode[];

export interface AosErrorOptions {
  hint?: string;
  retryable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** The error envelope as it appears on the wire (CLI stderr, HTTP, MCP, tool results). */
export interface ErrorEnvelope {
  error: {
    code: ErrorCode;
    status: number;
    message: string;
    hint?: string;
    retryable: boolean;
    trace_id?: string;
    details?: Record<string, unknown>;
  };
}

/** An expected failure with a code from design.md's table. */
export class AosError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AosErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AosError';
    this.code = code;
    this.hint = options.hint;
    this.retryable = options.retryable ?? retryableByDefault[code];
    this.details = options.details;
  }

  get status(): number {
    return statusByCode[this.code];
  }

  get exitCode(): number {
    return exitCodeByCode[this.code];
  }
}

/** HTTP status of an error code. */
export function statusOf(code: ErrorCode): number {
  return statusByCode[code];
}

/** CLI exit code of an error code. */
export function exitCodeOf(code: ErrorCode): number {
  return exitCodeByCode[code];
}

/** Turns anything thrown into an AosError; unknown errors become `internal` with a trace id. */
export function toAosError(error: unknown): AosError {
  if (error instanceof AosError) return error;
  const traceId = Math.random().toString(16).slice(2, 10);
  const message = error instanceof Error ? error.message : String(error);
  return new AosError('internal', `internal error: ${message}`, {
    hint: `this is a bug in aos; report it with trace id ${traceId}`,
    cause: error,
    details: { trace_id: traceId },
  });
}

/** The wire envelope of an error. */
export function envelopeOf(error: AosError): ErrorEnvelope {
  const traceId = error.details?.trace_id;
  return {
    error: {
      code: error.code,
      status: error.status,
      message: error.message,
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      retryable: error.retryable,
      ...(typeof traceId === 'string' ? { trace_id: traceId } : {}),
    },
  };
}
