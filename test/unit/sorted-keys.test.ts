import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareKeys } from '../../src/domain/key-order.js';
import { SortedKeys } from '../../src/domain/sorted-keys.js';

/** A small deterministic generator, so that a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ALPHABET = ['a', 'b', 'c', '/', 'é', '\uFFFD', '\u{1F600}', '\uE000'];

function randomKey(next: () => number): string {
  let key = '';
  const length = 1 + Math.floor(next() * 4);
  for (let i = 0; i < length; i++) key += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return key;
}

function all(keys: SortedKeys): string[] {
  return [...keys.from('', false)];
}

for (const seed of [1, 2, 3]) {
  test(`matches a sorted-array reference over thousands of inserts and deletes (seed ${seed})`, () => {
    const next = random(seed);
    const keys = new SortedKeys();
    const reference = new Set<string>();
    // Enough operations to split chunks (512 keys each) many times and empty some again.
    for (let op = 0; op < 6000; op++) {
      const key = next() < 0.3 ? randomKey(next) : `k${Math.floor(next() * 3000)}`;
      if (next() < 0.6) {
        keys.insert(key);
        reference.add(key);
      } else {
        keys.delete(key);
        reference.delete(key);
      }
      if (op % 500 === 0) assert.deepEqual(all(keys), [...reference].sort(compareKeys));
    }
    const sorted = [...reference].sort(compareKeys);
    assert.deepEqual(all(keys), sorted);
    for (let probe = 0; probe < 300; probe++) {
      const start = next() < 0.5 ? sorted[Math.floor(next() * sorted.length)]! : randomKey(next);
      const exclusive = next() < 0.5;
      const expected = sorted.filter((k) => (exclusive ? compareKeys(k, start) > 0 : compareKeys(k, start) >= 0));
      assert.deepEqual([...keys.from(start, exclusive)], expected, `from ${JSON.stringify(start)} exclusive=${exclusive}`);
    }
  });
}

test('inserting a present key and deleting an absent one change nothing', () => {
  const keys = new SortedKeys();
  for (const key of ['b', 'a', 'c', 'a', 'b']) keys.insert(key);
  keys.delete('zz');
  keys.delete('');
  assert.deepEqual(all(keys), ['a', 'b', 'c']);
});

test('deleting everything in ascending order, then reinserting, works from empty chunks', () => {
  const keys = new SortedKeys();
  const list = Array.from({ length: 3000 }, (_, i) => `k${String(i).padStart(4, '0')}`);
  for (const key of [...list].reverse()) keys.insert(key);
  assert.deepEqual(all(keys), list);
  for (const key of list) keys.delete(key);
  assert.deepEqual(all(keys), []);
  assert.deepEqual([...keys.from('k', false)], []);
  keys.insert('x');
  assert.deepEqual(all(keys), ['x']);
  keys.clear();
  assert.deepEqual(all(keys), []);
});
