/**
 * PostgreSQL array literals (`{"a","b",NULL}`), for array parameters sent as text: the batch
 * statements' arrays are built here in one pass, where the driver escaped every element with two
 * regular expressions and a closure. Inside double quotes only `"` and `\` need a backslash.
 */

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

export function textArray(values: readonly (string | null)[]): string {
  return literal(values, (value) => '"' + (NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, '\\$&') : value) + '"');
}

export function integerArray(values: readonly (number | null)[]): string {
  return literal(values, (value) => {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer: ${value}`);
    return String(value);
  });
}

export function booleanArray(values: readonly boolean[]): string {
  return literal(values, (value) => (value ? 't' : 'f'));
}

function literal<T>(values: readonly (T | null)[], element: (value: T) => string): string {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) text += ',';
    text += value === null || value === undefined ? 'NULL' : element(value);
  }
  return text + '}';
}
