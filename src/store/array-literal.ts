/**
 * PostgreSQL array literals (`{"a","b",NULL}`), for array parameters sent as text: the batch
 * statements' arrays are built here in one pass, where the driver escaped every element with two
 * regular expressions and a closure. Inside double quotes only `"` and `\` need a backslash.
 */

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

export function textArray(values: readonly (string | null)[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) literal += ',';
    if (value === null || value === undefined) literal += 'NULL';
    else literal += '"' + (NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, '\\$&') : value) + '"';
  }
  return literal + '}';
}

export function integerArray(values: readonly (number | null)[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) literal += ',';
    if (value === null || value === undefined) literal += 'NULL';
    else if (Number.isSafeInteger(value)) literal += value;
    else throw new TypeError(`not an integer: ${value}`);
  }
  return literal + '}';
}

export function booleanArray(values: readonly boolean[]): string {
  let literal = '{';
  for (let i = 0; i < values.length; i++) literal += (i > 0 ? ',' : '') + (values[i] ? 't' : 'f');
  return literal + '}';
}
