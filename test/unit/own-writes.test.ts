import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OwnWrites } from '../../src/consumer/own-writes.js';
import { decideBatch } from '../../src/domain/decide.js';
import type { Command } from '../../src/domain/commands.js';
import type { Change } from '../../src/domain/events.js';
import { Keyspace } from '../../src/domain/keyspace.js';

const at = '2026-01-01T00:00:00.000Z';
const change = (key: string, revision: number): Change => ({ type: 'value.put', key, value: 'v', revision, commandId: `c${revision}`, at });
const put = (key: string, n: number): Command => ({ type: 'PutValue', commandId: `w${key}${n}`, key, value: 'v' });
const del = (key: string): Command => ({ type: 'DeleteValue', commandId: `d${key}`, key });

/** What the consumer does after a write: decide against what it knows, then record it. */
function writeKnown(own: OwnWrites, commands: Command[], mark: number) {
  const known = own.known(commands.map((c) => c.key))!;
  const decision = decideBatch({ commands, head: known.head, current: known.current, known: new Map(), at });
  own.wrote(decision, mark);
  return decision;
}

describe('OwnWrites', () => {
  test('knows nothing before its first read', () => {
    assert.equal(new OwnWrites(new Keyspace()).known(['k']), undefined);
  });

  test('after a read, keys come from the keyspace once it has applied up to that read', () => {
    const keyspace = new Keyspace();
    const own = new OwnWrites(keyspace);
    own.read({ head: 2, mark: 7 });
    keyspace.apply(change('a', 1));
    assert.equal(own.known(['a']), undefined, 'the keyspace is behind the read');
    keyspace.apply(change('b', 2));
    assert.deepEqual(own.known(['a', 'b', 'none']), { head: 2, mark: 7, current: new Map([['a', 1], ['b', 2]]) });
  });

  test('its own writes win over the keyspace until the keyspace has applied them; a delete is known as absent', () => {
    const keyspace = new Keyspace();
    keyspace.apply(change('a', 1));
    keyspace.apply(change('b', 2));
    const own = new OwnWrites(keyspace);
    own.read({ head: 2, mark: 2 });
    const first = writeKnown(own, [put('a', 1), del('b')], 31);
    assert.equal(first.head, 4);
    assert.deepEqual(own.known(['a', 'b']), { head: 4, mark: 31, current: new Map([['a', 3]]) });
    writeKnown(own, [put('a', 2)], 17);
    assert.deepEqual(own.known(['a', 'b']), { head: 5, mark: 17, current: new Map([['a', 5]]) });
    // The keyspace catches up with the first write only: 'a' is still the second write's.
    for (const c of first.changes) keyspace.apply(c);
    assert.deepEqual(own.known(['a', 'b']), { head: 5, mark: 17, current: new Map([['a', 5]]) });
  });

  test('a refused or failed write, or too many keys the keyspace has not applied, and it knows nothing', () => {
    const own = new OwnWrites(new Keyspace());
    own.read({ head: 0, mark: 0 });
    own.forget();
    assert.equal(own.known(['a']), undefined);

    own.read({ head: 0, mark: 0 });
    const keys = Array.from({ length: 10_001 }, (_, i) => `k${i}`);
    writeKnown(own, keys.slice(0, 10_000).map((k) => put(k, 0)), 1);
    assert.notEqual(own.known(['a']), undefined, 'ten thousand pending keys are still kept');
    writeKnown(own, [put(keys[10_000]!, 0)], 2);
    assert.equal(own.known(['a']), undefined);
  });
});
