import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answerOf, Keyspace } from '../../src/domain/keyspace.js';
import { CopyFormatError, TwoColumnCopyReader } from '../../src/store/copy-binary.js';
import { ScramClient } from '../../src/store/scram.js';
import { targetOf } from '../../src/store/simple-query.js';
import { FrameReader } from '../../src/store/wire-frames.js';

const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/** A binary COPY stream of two-column rows, as PostgreSQL sends it (with a header extension, to skip). */
function copyStream(rows: [string, string][], extension = Buffer.from('ext')): Buffer {
  const parts = [SIGNATURE, int32(0), int32(extension.length), extension];
  for (const [a, b] of rows) {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    parts.push(Buffer.from([0, 2]), int32(x.length), x, int32(y.length), y);
  }
  parts.push(Buffer.from([0xff, 0xff]));
  return Buffer.concat(parts);
}

function readAll(stream: Buffer, cuts: number[]): [string, string][] {
  const rows: [string, string][] = [];
  const reader = new TwoColumnCopyReader((bytes, a, b, c, d) => rows.push([bytes.toString('utf8', a, b), bytes.toString('utf8', c, d)]));
  let from = 0;
  for (const cut of [...cuts, stream.length]) {
    // Ranges of a larger buffer, as frames hand them over.
    const padded = Buffer.concat([Buffer.from('junk'), stream.subarray(from, cut), Buffer.from('junk')]);
    reader.pushRange(padded, 4, 4 + cut - from);
    from = cut;
  }
  reader.end();
  assert.equal(reader.rows, rows.length);
  return rows;
}

const ROWS: [string, string][] = [
  ['a', '"1"{"key":"a","value":"x"}'],
  ['', ''],
  ['日本/語', 'é'.repeat(70_000)],
  ['k', 'v'],
];

describe('TwoColumnCopyReader', () => {
  test('reads the same rows whatever the chunking, a field across many chunks included', () => {
    const stream = copyStream(ROWS);
    assert.deepEqual(readAll(stream, []), ROWS);
    for (let cut = 1; cut < 120; cut++) assert.deepEqual(readAll(stream, [cut]), ROWS, `cut at ${cut}`);
    const every = Array.from({ length: Math.floor(stream.length / 997) }, (_, i) => (i + 1) * 997);
    assert.deepEqual(readAll(stream, every), ROWS);
    const bytewise = Array.from({ length: 200 }, (_, i) => i + 1);
    assert.deepEqual(readAll(stream, bytewise), ROWS);
  });

  test('refuses a cut-short stream, a NULL, a row of another width and a foreign stream', () => {
    const stream = copyStream(ROWS);
    assert.throws(() => readAll(stream.subarray(0, stream.length - 2), []), CopyFormatError);
    assert.throws(() => readAll(stream.subarray(0, stream.length - 40), []), CopyFormatError);
    const nullField = Buffer.concat([SIGNATURE, int32(0), int32(0), Buffer.from([0, 2]), int32(-1)]);
    assert.throws(() => new TwoColumnCopyReader(() => {}).push(Buffer.concat([nullField, Buffer.alloc(8)])), /NULL/);
    const threeColumns = Buffer.concat([SIGNATURE, int32(0), int32(0), Buffer.from([0, 3]), Buffer.alloc(12)]);
    assert.throws(() => new TwoColumnCopyReader(() => {}).push(threeColumns), /2 columns/);
    assert.throws(() => new TwoColumnCopyReader(() => {}).push(Buffer.from('not a copy stream at all')), /not a binary COPY/);
  });
});

describe('FrameReader', () => {
  test('splits messages whatever the chunking, a message across many chunks included', () => {
    const messages: [number, Buffer][] = [
      [0x52, int32(0)],
      [0x64, Buffer.alloc(200_000, 7)],
      [0x5a, Buffer.from('I')],
      [0x43, Buffer.alloc(0)],
    ];
    const wire = Buffer.concat(messages.flatMap(([type, body]) => [Buffer.from([type]), int32(body.length + 4), body]));
    for (const size of [1, 3, 5, 64, 1000, 65_536, wire.length]) {
      const seen: [number, Buffer][] = [];
      const frames = new FrameReader((type, bytes, start, end) => seen.push([type, Buffer.from(bytes.subarray(start, end))]));
      for (let at = 0; at < wire.length; at += size) frames.push(wire.subarray(at, at + size));
      assert.deepEqual(seen, messages, `chunks of ${size}`);
    }
  });
});

describe('ScramClient', () => {
  test('computes the proof and checks the server signature of RFC 7677 section 3', () => {
    const client = new ScramClient('pencil', 'rOprNGfwEbeRWgbNEkqO', 'user');
    assert.equal(client.first(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    assert.equal(client.final(serverFirst), 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
    client.verify('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    assert.throws(() => client.verify('v=AAAArrriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='), /signature/);
    assert.throws(() => new ScramClient('pencil', 'abc').final('r=xyz,s=AAAA,i=4096'), /invalid/);
  });
});

describe('targetOf', () => {
  test('reads plain URLs and leaves TLS and several hosts to the driver', () => {
    assert.deepEqual(targetOf('postgres://alice:s%40cret@db.example:6543/kv'), { host: 'db.example', port: 6543, user: 'alice', password: 's@cret', database: 'kv' });
    assert.equal(targetOf('postgres://postgres@127.0.0.1/test?sslmode=disable')?.port, 5432);
    assert.equal(targetOf('postgres://u@h/db?sslmode=require'), undefined);
    assert.equal(targetOf('postgres://u@h1,h2/db'), undefined);
    assert.equal(targetOf('mysql://u@h/db'), undefined);
  });
});

describe('Keyspace.entry (a snapshot row as bytes)', () => {
  test('loads what load does, keys with escapes, non-ASCII and out of order included', () => {
    const keys = ['a', 'b', 'c "q"', 'd\\e', 'f', 'é', 'ü/日本', 'z', 'm', 'b'];
    const viaBytes = new Keyspace();
    const viaStrings = new Keyspace();
    keys.forEach((key, i) => {
      const answer = answerOf(key, `v${i}`, i + 1);
      const k = Buffer.from(key);
      const bytes = Buffer.concat([Buffer.from('..'), k, Buffer.from(answer)]);
      viaBytes.entry(bytes, 2, 2 + k.length, 2 + k.length, bytes.length);
      viaStrings.load(key, answer);
    });
    viaBytes.loaded(keys.length);
    viaStrings.loaded(keys.length);
    const all = (ks: Keyspace) => ks.page({ prefix: '', limit: 100 }).items;
    assert.deepEqual(all(viaBytes), all(viaStrings));
    assert.deepEqual(all(viaBytes).map((i) => i.key), ['a', 'b', 'c "q"', 'd\\e', 'f', 'm', 'z', 'é', 'ü/日本']);
    assert.equal(viaBytes.get('b')?.value, 'v9');
    assert.equal(viaBytes.size, 9);
    for (const key of ['a', 'c "q"', 'ü/日本', 'z']) assert.equal(viaBytes.answer(key), viaStrings.answer(key));
  });
});
