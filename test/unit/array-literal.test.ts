import assert from 'node:assert/strict';
import { test } from 'node:test';
import { booleanArray, integerArray, textArray } from '../../src/store/array-literal.js';

// Round trips through PostgreSQL are in test/integration/batch-write.test.ts; these pin the text.
test('array literals quote text, escape only quotes and backslashes, and write NULL bare', () => {
  assert.equal(textArray([]), '{}');
  assert.equal(textArray(['a', null, 'b c', '{x,y}', 'NULL', 'say "hi"', 'back\\slash']), '{"a",NULL,"b c","{x,y}","NULL","say \\"hi\\"","back\\\\slash"}');
  assert.equal(integerArray([1, null, -2, 9007199254740991]), '{1,NULL,-2,9007199254740991}');
  assert.equal(booleanArray([true, false]), '{t,f}');
  assert.throws(() => integerArray([1.5]), TypeError);
  assert.throws(() => integerArray([Number.NaN]), TypeError);
});
