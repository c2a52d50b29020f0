/** The error envelope of a tool's error result, from the text the model read (a result, {{last}}). */
import type { ErrorEnvelope } from '../../src/errors.js';

/** The `error` of an error result's text; throws when the text is not an envelope. */
export function toolError(content: unknown): ErrorEnvelope['error'] {
  const parsed = JSON.parse(String(content)) as Partial<ErrorEnvelope>;
  if (parsed.error === undefined) throw new Error(`not an error envelope: ${String(content)}`);
  return parsed.error;
}
