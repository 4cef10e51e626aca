import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Change } from '../../src/domain/events.js';
import { compareKeys } from '../../src/domain/key-order.js';
import { answerOf, Keyspace } from '../../src/domain/keyspace.js';

const at = '2026-01-01T00:00:00.000Z';
const put = (key: string, value: string, revision: number): Change => ({ type: 'value.put', key, value, revision, commandId: `c${revision}`, at });
const del = (key: string, revision: number): Change => ({ type: 'value.deleted', key, revision, commandId: `c${revision}`, at });

function filled(keys: string[]): Keyspace {
  const keyspace = new Keyspace();
  keys.forEach((key, i) => assert.equal(keyspace.apply(put(key, `v:${key}`, i + 1)), 'applied'));
  return keyspace;
}

describe('Keyspace.apply', () => {
  test('applies changes in revision order', () => {
    const keyspace = new Keyspace();
    assert.equal(keyspace.apply(put('a', '1', 1)), 'applied');
    assert.equal(keyspace.apply(put('b', '2', 2)), 'applied');
    assert.equal(keyspace.apply(put('a', '3', 3)), 'applied');
    assert.equal(keyspace.apply(del('b', 4)), 'applied');
    assert.equal(keyspace.revision, 4);
    assert.equal(keyspace.size, 1);
    assert.deepEqual({ ...keyspace.get('a') }, { value: '3', revision: 3 });
    assert.equal(keyspace.get('b'), undefined);
  });

  test('ignores duplicates (older or equal revisions) without touching state', () => {
    const keyspace = filled(['a', 'b']);
    assert.equal(keyspace.apply(put('a', 'stale', 1)), 'duplicate');
    assert.equal(keyspace.apply(del('b', 2)), 'duplicate');
    assert.equal(keyspace.revision, 2);
    assert.equal(keyspace.get('a')?.value, 'v:a');
    assert.equal(keyspace.get('b')?.value, 'v:b');
  });

  test('reports a gap and applies nothing past it', () => {
    const keyspace = filled(['a']);
    assert.equal(keyspace.apply(put('z', 'future', 3)), 'gap');
    assert.equal(keyspace.revision, 1);
    assert.equal(keyspace.get('z'), undefined);
    assert.equal(keyspace.apply(put('y', 'next', 2)), 'applied');
    assert.equal(keyspace.apply(put('z', 'future', 3)), 'applied');
    assert.equal(keyspace.revision, 3);
  });

  test('a delete of a key that is not there still consumes its revision', () => {
    const keyspace = filled(['a']);
    assert.equal(keyspace.apply(del('nope', 2)), 'applied');
    assert.equal(keyspace.revision, 2);
    assert.equal(keyspace.size, 1);
    assert.deepEqual(keyspace.page({ prefix: '', limit: 10 }).items.map((i) => i.key), ['a']);
  });

  test('a snapshot load followed by adopt replaces the state in one step', () => {
    const live = filled(['old']);
    const fresh = new Keyspace();
    fresh.load('k1', answerOf('k1', 'v1', 7));
    fresh.load('k2', answerOf('k2', 'v2', 9));
    fresh.loaded(12);
    live.adopt(fresh);
    assert.equal(live.revision, 12);
    assert.equal(live.get('old'), undefined);
    assert.deepEqual(live.page({ prefix: '', limit: 10 }).items, [
      { key: 'k1', value: 'v1', revision: 7 },
      { key: 'k2', value: 'v2', revision: 9 },
    ]);
    assert.equal(live.apply(put('k3', 'v3', 13)), 'applied');
  });
});

describe('Keyspace.page', () => {
  const keys = ['a', 'a/1', 'a/2', 'a/3', 'ab', 'b', 'b/1', 'c'];
  const keyspace = filled([...keys].reverse());
  const keysOf = (q: Parameters<Keyspace['page']>[0]) => keyspace.page(q).items.map((i) => i.key);

  test('lists everything in order with values and revisions', () => {
    const page = keyspace.page({ prefix: '', limit: 100 });
    assert.deepEqual(page.items.map((i) => i.key), keys);
    assert.equal(page.next, null);
    for (const item of page.items) {
      assert.equal(item.value, `v:${item.key}`);
      assert.equal(item.revision, keyspace.get(item.key)!.revision);
    }
  });

  test('prefix restricts, limit cuts and next resumes', () => {
    assert.deepEqual(keysOf({ prefix: 'a/', limit: 100 }), ['a/1', 'a/2', 'a/3']);
    const first = keyspace.page({ prefix: 'a', limit: 2 });
    assert.deepEqual(first.items.map((i) => i.key), ['a', 'a/1']);
    assert.equal(first.next, 'a/1');
    const second = keyspace.page({ prefix: 'a', limit: 2, after: first.next! });
    assert.deepEqual(second.items.map((i) => i.key), ['a/2', 'a/3']);
    assert.equal(second.next, 'a/3');
    const third = keyspace.page({ prefix: 'a', limit: 2, after: second.next! });
    assert.deepEqual(third.items.map((i) => i.key), ['ab']);
    assert.equal(third.next, null);
  });

  test('next is null when the page ends exactly at the last match', () => {
    const page = keyspace.page({ prefix: 'b', limit: 2 });
    assert.deepEqual(page.items.map((i) => i.key), ['b', 'b/1']);
    assert.equal(page.next, null);
  });

  test('after is exclusive and need not be a stored key', () => {
    assert.deepEqual(keysOf({ prefix: '', limit: 3, after: 'a/2' }), ['a/3', 'ab', 'b']);
    assert.deepEqual(keysOf({ prefix: '', limit: 3, after: 'a/25' }), ['a/3', 'ab', 'b']);
    assert.deepEqual(keysOf({ prefix: '', limit: 3, after: 'c' }), []);
    assert.deepEqual(keysOf({ prefix: '', limit: 3, after: 'zzz' }), []);
  });

  test('an after before the prefix starts at the prefix; one past it yields nothing', () => {
    assert.deepEqual(keysOf({ prefix: 'b', limit: 10, after: 'a' }), ['b', 'b/1']);
    assert.deepEqual(keysOf({ prefix: 'a/', limit: 10, after: 'b' }), []);
  });

  test('an empty keyspace and an unmatched prefix give an empty last page', () => {
    assert.deepEqual(new Keyspace().page({ prefix: '', limit: 5 }), { items: [], next: null });
    assert.deepEqual(keyspace.page({ prefix: 'zz', limit: 5 }), { items: [], next: null });
  });

  test('paging through with next visits every key once', () => {
    const big = filled(Array.from({ length: 2500 }, (_, i) => `k${String(i).padStart(5, '0')}`));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = big.page({ prefix: 'k', limit: 7, after });
      seen.push(...page.items.map((i) => i.key));
      if (page.next === null) break;
      after = page.next;
    }
    assert.equal(seen.length, 2500);
    assert.equal(new Set(seen).size, 2500);
    assert.deepEqual(seen, [...seen].sort());
  });
});

describe('byte order', () => {
  const astral = '\u{1F600}'; // UTF-8 F0 9F 98 80; UTF-16 starts with the surrogate D83D
  const replacement = '\uFFFD'; // UTF-8 EF BF BD

  test('compareKeys agrees with comparing UTF-8 bytes', () => {
    const samples = ['', 'a', 'ab', 'b', 'é', '\u0800', '\uD7FF', '\uE000', replacement, astral, `a${astral}`, `a${replacement}`, '\u{10FFFF}', 'z'];
    for (const x of samples) {
      for (const y of samples) {
        const bytes = Math.sign(Buffer.compare(Buffer.from(x), Buffer.from(y)));
        assert.equal(Math.sign(compareKeys(x, y)), bytes, `${JSON.stringify(x)} vs ${JSON.stringify(y)}`);
      }
    }
  });

  test('a key with an astral character sorts after U+FFFD, unlike UTF-16 order', () => {
    assert.ok(astral < replacement, 'JavaScript order puts the surrogate first');
    const keyspace = filled([astral, replacement, 'a', '\uE000']);
    assert.deepEqual(keyspace.page({ prefix: '', limit: 10 }).items.map((i) => i.key), ['a', '\uE000', replacement, astral]);
    assert.deepEqual(keyspace.page({ prefix: '', limit: 10, after: replacement }).items.map((i) => i.key), [astral]);
  });
});

describe('Keyspace against a model', () => {
  test('random puts and deletes, then reads and every page, match a sorted Map (escapes and non-ASCII keys included)', () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const alphabet = ['a', 'b', '/', '"', '\\', 'é', '日', '🚀', '\uffff', 'z'];
    const randomKey = () => Array.from({ length: 1 + Math.floor(next() * 4) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const keyspace = new Keyspace();
    const model = new Map<string, { value: string; revision: number }>();
    for (let revision = 1; revision <= 5000; revision++) {
      const key = randomKey();
      if (next() < 0.35) {
        keyspace.apply(del(key, revision));
        model.delete(key);
      } else {
        const value = `v${revision} "${key}"\n`;
        keyspace.apply(put(key, value, revision));
        model.set(key, { value, revision });
      }
    }
    assert.equal(keyspace.size, model.size);
    for (const [key, entry] of model) assert.deepEqual({ ...keyspace.get(key) }, entry, key);
    const sorted = [...model.keys()].sort(compareKeys);
    const listed: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = keyspace.page({ prefix: '', after, limit: 37 });
      for (const item of page.items) {
        assert.deepEqual({ value: item.value, revision: item.revision }, model.get(item.key), item.key);
        listed.push(item.key);
      }
      if (page.next === null) break;
      after = page.next;
    }
    assert.deepEqual(listed, sorted);
    for (const prefix of ['a', '"', '\\', 'é', '🚀']) {
      assert.deepEqual(keyspace.page({ prefix, limit: 10_000 }).items.map((i) => i.key), sorted.filter((k) => k.startsWith(prefix)), prefix);
    }
  });
});

describe('Keyspace.load', () => {
  test('loads in key order, out of order, and around an applied change, without duplicates or disorder', () => {
    const keyspace = new Keyspace();
    keyspace.load('b', answerOf('b', '1', 1));
    keyspace.load('d', answerOf('d', '2', 2));
    keyspace.load('a', answerOf('a', '3', 3)); // out of order
    assert.equal(keyspace.apply(put('f', '4', 1)), 'applied'); // a key past the last one loaded
    keyspace.load('e', answerOf('e', '5', 5));
    keyspace.load('f', answerOf('f', '6', 6));
    keyspace.loaded(6);
    assert.equal(keyspace.size, 5);
    const page = keyspace.page({ prefix: '', limit: 10 });
    assert.deepEqual(page.items.map((i) => [i.key, i.value]), [['a', '3'], ['b', '1'], ['d', '2'], ['e', '5'], ['f', '6']]);
  });
});
