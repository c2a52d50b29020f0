/** Whether a value survives the journal's JSON unchanged: a leaf shared by the slice and step operations. */

/**
 * Why a value cannot be journaled as JSON without changing on the way back (a Date, a
 * Map, a function, NaN, undefined in an array...), or undefined when it can.
 */
export function journalable(value: unknown, path = ''): string | undefined {
  const at = path === '' ? '' : ` at ${path}`;
  if (value === null || value === undefined || typeof value === 'string' || typeof value === 'boolean')
    return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : `is ${value}${at}, which JSON cannot hold`;
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    return `is a ${typeof value}${at}, which JSON cannot hold`;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      if (item === undefined) return `has undefined at ${path}[${index}] (JSON turns it into null)`;
      const problem = journalable(item, `${path}[${index}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  }
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (value as object).constructor?.name ?? 'object';
    const hint =
      value instanceof Date ? ' (return date.toISOString())' : ' (return plain objects and arrays)';
    return `is a ${name}${at}, which does not survive JSON${hint}`;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const problem = journalable(item, path === '' ? key : `${path}.${key}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}
