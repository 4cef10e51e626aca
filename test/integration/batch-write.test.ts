import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitBatch } from '../../src/consumer/commit-batch.js';
import type { Command } from '../../src/domain/commands.js';
import { outcomesOf } from '../../src/domain/events.js';
import { Keyspace } from '../../src/domain/keyspace.js';
import { migratedStore } from './cluster.js';

// The batch write sends each change once and derives from it, in SQL, the values that stay (each
// key's last change in the batch) and the applied outcomes. A batch that writes keys more than
// once, deletes what it put and puts what it deleted must leave the store as the changes say.

const put = (commandId: string, key: string, value: string, precondition?: Command['precondition']): Command => ({ type: 'PutValue', commandId, key, value, precondition });
const del = (commandId: string, key: string): Command => ({ type: 'DeleteValue', commandId, key, precondition: undefined });

test('a batch that writes keys several times stores each key\'s last change, logs every change and stores every outcome', async () => {
  const { cluster, store } = await migratedStore();
  await commitBatch(store, [put('s1', 'gone-then-back', 'old'), put('s2', 'deleted', 'x')], new Date());

  const batch = await commitBatch(
    store,
    [
      put('c1', 'twice', 'first'),
      put('c2', 'twice', 'second'),
      put('c3', 'put-then-deleted', 'brief'),
      del('c4', 'put-then-deleted'),
      del('c5', 'gone-then-back'),
      put('c6', 'gone-then-back', 'new'),
      del('c7', 'deleted'),
      del('c8', 'never-there'),
      put('c9', 'twice', 'refused', { kind: 'revision', revision: 1 }),
    ],
    new Date(),
  );

  assert.deepEqual(
    [...(await cluster.stored())].sort(([a], [b]) => (a < b ? -1 : 1)),
    [
      ['gone-then-back', { value: 'new', revision: 8 }],
      ['twice', { value: 'second', revision: 4 }],
    ],
  );
  assert.deepEqual(
    (await cluster.changeLog()).map((c) => [c.revision, c.key, c.commandId]),
    [
      [1, 'gone-then-back', 's1'],
      [2, 'deleted', 's2'],
      [3, 'twice', 'c1'],
      [4, 'twice', 'c2'],
      [5, 'put-then-deleted', 'c3'],
      [6, 'put-then-deleted', 'c4'],
      [7, 'gone-then-back', 'c5'],
      [8, 'gone-then-back', 'c6'],
      [9, 'deleted', 'c7'],
    ],
  );
  const rows = await cluster.sql<{ command_id: string; status: string; revision: string | null; current_revision: string | null }[]>`
    select command_id, status, revision, current_revision from kv_outcomes where command_id like 'c%' order by command_id`;
  assert.deepEqual(
    rows.map((r) => [r.command_id, r.status, r.revision === null ? null : Number(r.revision), r.current_revision === null ? null : Number(r.current_revision)]),
    [
      ['c1', 'applied', 3, null],
      ['c2', 'applied', 4, null],
      ['c3', 'applied', 5, null],
      ['c4', 'applied', 6, null],
      ['c5', 'applied', 7, null],
      ['c6', 'applied', 8, null],
      ['c7', 'applied', 9, null],
      ['c8', 'not_found', null, null],
      ['c9', 'precondition_failed', null, 4],
    ],
  );
  assert.deepEqual(
    outcomesOf(batch).map((o) => [o.commandId, o.status]),
    rows.map((r) => [r.command_id, r.status]),
    'the announced outcomes are the stored ones',
  );
  // The changes replayed on a keyspace give the store's values.
  const changes = await store.changesSince(0, 100);
  assert.ok(changes !== 'compacted');
  const keyspace = new Keyspace();
  for (const change of changes) assert.equal(keyspace.apply(change), 'applied');
  for (const [key, entry] of await cluster.stored()) assert.deepEqual({ ...keyspace.get(key) }, entry, key);
  assert.equal(keyspace.size, 2);
});

test('keys and values with quotes, backslashes, braces, commas, NULL and non-ASCII are stored and logged as sent', async () => {
  const { cluster, store } = await migratedStore();
  const tricky = ['"', '\\', '\\"', '{a,b}', 'NULL', 'null', ' spaced ', 'a,b', '}{', "it's", 'é 日本 🚀', '\\N', '\t\n'];
  const commands = tricky.map((text, n) => put(`t${n}`, `key ${text}`, `value ${text} ${n}`));
  commands.push(put('empty', 'empty value', ''));
  await commitBatch(store, commands, new Date());
  const stored = await cluster.stored();
  assert.equal(stored.size, commands.length);
  for (const c of commands) assert.deepEqual(stored.get(c.key), { value: c.type === 'PutValue' ? c.value : undefined, revision: commands.indexOf(c) + 1 }, c.key);
  assert.deepEqual(
    (await cluster.changeLog()).map((c) => [c.key, c.commandId]),
    commands.map((c) => [c.key, c.commandId]),
  );
});

test('a replayed applied outcome comes back with what its change wrote (null for a delete), and without it once the change log no longer holds it', async () => {
  const { store } = await migratedStore();
  await commitBatch(store, [put('w1', 'k', 'first'), del('w2', 'k'), put('w3', 'other', 'x')], new Date());
  const replayed = await commitBatch(store, [put('w1', 'k', 'first'), del('w2', 'k')], new Date());
  assert.deepEqual(replayed.changes, [], 'nothing is applied twice');
  assert.deepEqual(replayed.outcomes, [
    { commandId: 'w1', key: 'k', status: 'applied', revision: 1, wrote: 'first' },
    { commandId: 'w2', key: 'k', status: 'applied', revision: 2, wrote: null },
  ]);
  // Keep only the last change: w1's and w2's leave the log, their outcomes stay.
  await store.prune(1, 60_000);
  const later = await commitBatch(store, [put('w1', 'k', 'first')], new Date());
  assert.deepEqual(later.outcomes, [{ commandId: 'w1', key: 'k', status: 'applied', revision: 1 }]);
});
