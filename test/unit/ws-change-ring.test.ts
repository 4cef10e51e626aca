import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Change } from '../../src/domain/events.js';
import { ChangeRing } from '../../src/ws/change-ring.js';
import { scriptJson } from '../../src/http/routes/landing.js';

const change = (revision: number, value = 'v'): Change => ({ type: 'value.put', key: `k${revision}`, value, revision, commandId: `c${revision}`, at: '2026-01-01T00:00:00.000Z' });
const changes = (from: number, to: number, value?: string) => Array.from({ length: to - from + 1 }, (_, i) => change(from + i, value));
const revs = (list: Change[] | undefined) => list?.map((c) => c.revision);

test('the ring serves what follows a revision it reaches back to, in pages', () => {
  const ring = new ChangeRing({ changes: 100, bytes: 1e9 });
  assert.equal(ring.after(0, 10), undefined, 'an empty ring holds no history');
  ring.push(changes(11, 20));
  assert.equal(ring.after(9, 10), undefined);
  assert.deepEqual(revs(ring.after(10, 3)), [11, 12, 13]);
  assert.deepEqual(revs(ring.after(18, 10)), [19, 20]);
  assert.deepEqual(revs(ring.after(20, 10)), []);
});

test('eviction by count and by bytes moves the floor', () => {
  const byCount = new ChangeRing({ changes: 5, bytes: 1e9 });
  byCount.push(changes(1, 2000));
  assert.equal(byCount.size, 5);
  assert.equal(byCount.after(1994, 10), undefined);
  assert.deepEqual(revs(byCount.after(1995, 10)), [1996, 1997, 1998, 1999, 2000]);
  const bySize = new ChangeRing({ changes: 1000, bytes: 10_000 });
  bySize.push(changes(1, 10, 'x'.repeat(4000)));
  assert.ok(bySize.size <= 2);
  assert.deepEqual(revs(bySize.after(8, 10)), [9, 10]);
});

test('a gap or a clear drops what came before it', () => {
  const ring = new ChangeRing({ changes: 100, bytes: 1e9 });
  ring.push(changes(1, 5));
  ring.push(changes(8, 9));
  assert.equal(ring.after(5, 10), undefined);
  assert.deepEqual(revs(ring.after(7, 10)), [8, 9]);
  ring.clear(50);
  assert.equal(ring.after(9, 10), undefined);
  assert.deepEqual(revs(ring.after(50, 10)), []);
  ring.push(changes(51, 52));
  assert.deepEqual(revs(ring.after(50, 10)), [51, 52]);
});

test('through wrap-arounds, growth and shrinking, the ring gives back exactly the changes it was given', () => {
  let seed = 11;
  const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  // Whole code points (keys and values are valid UTF-8, so never a lone surrogate).
  const chars = ['a', 'é', '日', '🚀', '"', '\\', '\n', ' '];
  const text = (n: number) => Array.from({ length: n }, () => chars[Math.floor(next() * chars.length)]).join('');
  const ring = new ChangeRing({ changes: 300, bytes: 1e9 });
  const all: Change[] = [];
  for (let revision = 1; revision <= 6000; revision++) {
    // Mostly small values, now and then a burst of large ones (growth) and quiet stretches (shrinking).
    const large = revision % 1000 < 40;
    const change: Change =
      next() < 0.2
        ? { type: 'value.deleted', key: text(1 + Math.floor(next() * 20)), revision, commandId: `c${revision}`, at: new Date(revision).toISOString() }
        : { type: 'value.put', key: text(1 + Math.floor(next() * 20)), value: text(large ? 20_000 : Math.floor(next() * 200)), revision, commandId: `c${revision}`, at: new Date(revision).toISOString() };
    all.push(change);
    ring.push([change]);
    if (revision % 97 === 0 || revision % 1000 === 45) {
      const from = Math.max(0, revision - 300);
      assert.deepEqual(ring.after(from, 1000), all.slice(from), `after ${from} at ${revision}`);
      assert.equal(ring.after(from - 1, 10), from > 0 ? undefined : ring.after(from - 1, 10));
    }
  }
  assert.equal(ring.size, 300);
});

test('state embedded in <script> cannot close the element or break a line, and parses back', () => {
  const state = { prefix: '</script><script>alert(1)</script>&\u2028\u2029' };
  const json = scriptJson(state);
  assert.doesNotMatch(json, /[<>&\u2028\u2029]/);
  assert.deepEqual(JSON.parse(json), state);
});
