/**
 * How an error is journaled and read back: a leaf that executions, slices and
 * operations share without importing each other.
 */
import { AosError, toAosError } from '../errors.js';

/** Reconstructs the error a journaled failure carried. */
export function recordedError(output: unknown): Error {
  const error = (
    output as {
      error?: { code?: string; message?: string; name?: string; details?: Record<string, unknown> };
    } | null
  )?.error;
  const message = error?.message ?? 'the operation failed';
  if (error?.code !== undefined && isErrorCode(error.code)) {
    return new AosError(error.code, message, error.details === undefined ? {} : { details: error.details });
  }
  const plain = new Error(message);
  if (error?.name !== undefined) plain.name = error.name;
  return plain;
}

function isErrorCode(code: string): code is AosError['code'] {
  return [
    'invalid_input',
    'forbidden',
    'not_found',
    'conflict',
    'limit_exceeded',
    'internal',
    'unavailable',
    'timeout',
  ].includes(code);
}

/** How an error is journaled: its code when it has one, its name and message. */
export function errorRecord(error: unknown): { code?: string; name: string; message: string } {
  if (isAosErrorLike(error)) return { code: error.code, name: 'AosError', message: error.message };
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: toAosError(error).message };
}

function isAosErrorLike(error: unknown): error is { code: string; message: string } {
  return (
    error instanceof AosError ||
    (error instanceof Error &&
      error.name === 'AosError' &&
      typeof (error as { code?: unknown }).code === 'string')
  );
}
