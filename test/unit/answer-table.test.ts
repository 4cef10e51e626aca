import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AnswerTable, hashKey, hashKeyWithout, plainKeyHash } from '../../src/domain/answer-table.js';
import { compareKeys } from '../../src/domain/key-order.js';
import { answerOf, etagLength } from '../../src/domain/keyspace.js';

/** A deterministic generator, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
}

const KEYS = ['a', 'b', 'key "quoted"', 'back\\slash', 'é', '日本/語', '🚀 rocket', 'a/b/c', 'Z', 'plain:0001', 'x'.repeat(300)];

/** What the read path hands uWS for the answer at `location`: the header name, the ETag, the body. */
function written(table: AnswerTable, location: number): { name: Buffer; etag: Buffer; body: Buffer } {
  const calls: Buffer[] = [];
  const to = {
    writeHeader(name: Uint8Array, value: Uint8Array) {
      calls.push(Buffer.from(name), Buffer.from(value));
      return { end: (body: Uint8Array) => calls.push(Buffer.from(body)) };
    },
  };
  table.writeAt(location, to, Buffer.from('ETag'));
  assert.equal(calls.length, 3, 'one header, then the body');
  return { name: calls[0]!, etag: calls[1]!, body: calls[2]! };
}

function check(table: AnswerTable, model: Map<string, string>): void {
  assert.equal(table.size, model.size);
  for (const [key, answer] of model) {
    const id = table.find(key);
    assert.ok(id >= 0, `find ${JSON.stringify(key)}`);
    assert.equal(table.keyAt(id), key);
    assert.equal(table.answerAt(id), answer);
    const bytes = Buffer.from(answer);
    const cut = Buffer.byteLength(answer.slice(0, etagLength(answer)));
    // The read path: the ETag and the body through the slot's location, with no per-id array.
    const location = table.locate(key);
    assert.ok(location >= 0, `locate ${JSON.stringify(key)}`);
    assert.deepEqual(Buffer.from(table.etagAt(location)), bytes.subarray(0, cut));
    const sent = written(table, location);
    assert.equal(sent.name.toString(), 'ETag');
    assert.deepEqual(sent.etag, bytes.subarray(0, cut));
    assert.deepEqual(sent.body, bytes.subarray(cut));
  }
}

describe('AnswerTable', () => {
  test('finds, replaces and deletes answers, keys with escapes and non-ASCII included', () => {
    const table = new AnswerTable();
    const model = new Map<string, string>();
    KEYS.forEach((key, i) => {
      const answer = answerOf(key, `value of ${key}`, i + 1);
      table.set(key, answer);
      model.set(key, answer);
    });
    check(table, model);
    for (const missing of ['', 'c', 'key "quoted', 'key \\"quoted\\"', 'e', 'plain:0002', 'x'.repeat(299)]) {
      assert.equal(table.find(missing), -1, missing);
      assert.equal(table.locate(missing), -1, missing);
    }
    table.set('a', answerOf('a', 'replaced', 99));
    model.set('a', answerOf('a', 'replaced', 99));
    assert.equal(table.delete('é'), true);
    model.delete('é');
    assert.equal(table.delete('é'), false);
    check(table, model);
  });

  test('matches a Map under random writes and deletes, through resizes and compactions', () => {
    const next = random(7);
    // Small slabs, so that this many writes fill, compact and free a good number of them.
    const table = new AnswerTable(16 * 1024);
    const model = new Map<string, string>();
    let revision = 0;
    for (let op = 0; op < 40_000; op++) {
      const key = `k${Math.floor(next() * 2000)}${next() < 0.05 ? ' "é"' : ''}`;
      if (next() < 0.3) {
        assert.equal(table.delete(key), model.delete(key));
      } else {
        const size = next() < 0.01 ? 9000 : Math.floor(next() * 200);
        const answer = answerOf(key, 'v'.repeat(size), ++revision);
        table.set(key, answer);
        model.set(key, answer);
      }
      if (op % 5000 === 0) check(table, model);
    }
    check(table, model);
    const { bytes, live } = table.arena;
    const expected = [...model.values()].reduce((n, answer) => n + Buffer.byteLength(answer), 0);
    // Each live answer is counted with its header and alignment: at most 12 + 7 bytes more.
    assert.ok(live >= expected && live <= expected + 19 * model.size, `live ${live} bytes for ${expected} of answers`);
    // Garbage stays bounded: compaction ran (without it the arena would hold every write ever made).
    assert.ok(bytes <= live * 1.6 + 3 * 16 * 1024, `arena ${bytes} bytes for ${live} live`);
  });

  test('compareKey orders a stored key against any key as compareKeys does, from its bytes or its string', () => {
    const table = new AnswerTable();
    const next = random(7);
    const alphabet = ['a', 'b', 'z', '~', ' ', '"', '\\', '/', 'é', 'ÿ', '日', '\uffff', '🚀', '\ue000'];
    const make = () => Array.from({ length: Math.floor(next() * 5) }, () => alphabet[Math.floor(next() * alphabet.length)]).join('');
    const stored = [...KEYS, ...Array.from({ length: 200 }, make)].filter((k) => k.length > 0);
    const ids = new Map(stored.map((key) => [key, table.set(key, answerOf(key, 'v', 1))]));
    const probes = [...stored, '', ...Array.from({ length: 200 }, make)];
    for (const [key, id] of ids) {
      for (const probe of probes) assert.equal(Math.sign(table.compareKey(id, probe)), Math.sign(compareKeys(key, probe)), `${JSON.stringify(key)} against ${JSON.stringify(probe)}`);
    }
  });

  test('a large answer gets a slab of its own, freed when it is replaced', () => {
    const table = new AnswerTable(16 * 1024);
    table.set('big', answerOf('big', 'x'.repeat(100_000), 1));
    const withBig = table.arena.bytes;
    assert.ok(withBig >= 100_000);
    table.set('big', answerOf('big', 'small', 2));
    assert.ok(table.arena.bytes < 100_000, `arena ${table.arena.bytes} after the large answer was replaced`);
    assert.equal(table.answerAt(table.find('big')), answerOf('big', 'small', 2));
  });
  test('answers in slabs of their own are not limited by the shared slabs: 10,000 of them, then replaced', () => {
    // Answers over a quarter of the 16 KiB unit get a slab each; a location numbers them apart from the shared slabs.
    const table = new AnswerTable(16 * 1024);
    const count = 10_000;
    for (let i = 0; i < count; i++) table.set(`big${i}`, answerOf(`big${i}`, String(i % 10).repeat(5000), i + 1));
    assert.equal(table.size, count);
    for (let i = 0; i < count; i += 997) {
      const answer = answerOf(`big${i}`, String(i % 10).repeat(5000), i + 1);
      assert.equal(table.answerAt(table.find(`big${i}`)), answer);
      assert.equal(written(table, table.locate(`big${i}`)).body.toString(), answer.slice(etagLength(answer)));
    }
    for (let i = 0; i < count; i++) table.set(`big${i}`, answerOf(`big${i}`, 'small', count + i + 1));
    assert.ok(table.arena.bytes < 1024 * 1024, `arena ${table.arena.bytes} bytes after every large answer was replaced`);
    assert.equal(table.answerAt(table.find('big9999')), answerOf('big9999', 'small', 2 * count));
  });
});

describe('AnswerTable, a snapshot loaded as bytes', () => {
  test('addPlain entries are found like set ones, during the load and after it', () => {
    const table = new AnswerTable(64 * 1024);
    const model = new Map<string, string>();
    table.reserve(3000);
    // Past the reserved size: the index grows on the way.
    for (let i = 0; i < 70_000; i++) {
      const key = `snap:${String(i).padStart(5, '0')}`;
      const answer = answerOf(key, `value ${i}`.repeat(i % 7), i + 1);
      const bytes = Buffer.from(`##${key}${answer}`);
      const hash = plainKeyHash(bytes, 2, 2 + key.length);
      assert.equal(hash, hashKey(key) >>> 0);
      table.addPlain(hash, key.length, bytes, 2 + key.length, bytes.length);
      model.set(key, answer);
      if (i % 15_000 === 0) assert.equal(table.answerAt(table.find(key)), answer);
    }
    check(table, model);
    table.set('snap:00010', answerOf('snap:00010', 'replaced', 9999));
    model.set('snap:00010', answerOf('snap:00010', 'replaced', 9999));
    assert.equal(table.delete('snap:69999'), true);
    model.delete('snap:69999');
    check(table, model);
  });

  test('plainKeyHash refuses keys whose JSON form is not their bytes; hashKeyWithout finds what the read path cannot take', () => {
    for (const key of ['a"b', 'a\\b', 'tab\there', 'é', '\u007f']) {
      const bytes = Buffer.from(key);
      assert.equal(plainKeyHash(bytes, 0, bytes.length), -1, JSON.stringify(key));
    }
    for (const key of ['plain', 'a/b', '', 'é', '日本']) assert.equal(hashKeyWithout(key, 0x25, 0xfffd), hashKey(key) >>> 0, key);
    for (const key of ['a%2Fb', 'bad\ufffd']) assert.equal(hashKeyWithout(key, 0x25, 0xfffd), -1, key);
  });
});
