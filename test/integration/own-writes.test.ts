import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitBatch } from '../../src/consumer/commit-batch.js';
import { OwnWrites } from '../../src/consumer/own-writes.js';
import type { Command, Precondition } from '../../src/domain/commands.js';
import { outcomesOf, type CommittedBatch } from '../../src/domain/events.js';
import { Keyspace } from '../../src/domain/keyspace.js';
import { migratedStore } from './cluster.js';

// A consumer decides a batch from its own last writes and its instance's keyspace, without a read
// (src/consumer/own-writes.ts). These run that against PostgreSQL, with a keyspace that is fed
// the committed changes only when a test says so, as the event bus would later.

const put = (commandId: string, key: string, value: string, precondition?: Precondition): Command => ({ type: 'PutValue', commandId, key, value, precondition });

function applied(keyspace: Keyspace, ...batches: CommittedBatch[]): void {
  for (const batch of batches) for (const change of batch.changes) assert.equal(keyspace.apply(change), 'applied');
}

/** A consumer that has committed one batch (c1: k = v1, revision 1), not yet applied by its keyspace. */
async function afterFirstBatch() {
  const { cluster, store } = await migratedStore();
  const keyspace = new Keyspace();
  const own = new OwnWrites(keyspace);
  const first = await commitBatch(store, [put('c1', 'k', 'v1')], new Date(), own);
  return { cluster, store, keyspace, own, first };
}

test('a key written by the last batch, not yet in the keyspace, is decided from the consumer\'s own write, with no read', async () => {
  const { store, own } = await afterFirstBatch();
  assert.equal(own.reads, 1, 'the first batch is read');

  const second = await commitBatch(store, [put('c2', 'k', 'v2', { kind: 'revision', revision: 1 }), put('c3', 'fresh', 'x', { kind: 'absent' })], new Date(), own);
  assert.deepEqual(outcomesOf(second), [
    { commandId: 'c2', key: 'k', status: 'applied', revision: 2 },
    { commandId: 'c3', key: 'fresh', status: 'applied', revision: 3 },
  ]);
  assert.deepEqual(second.outcomes, [], 'applied commands are announced by their changes alone');
  assert.equal(own.reads, 1, 'decided from what the consumer knew');

  const third = await commitBatch(store, [put('c4', 'k', 'v3', { kind: 'revision', revision: 1 })], new Date(), own);
  assert.deepEqual(outcomesOf(third), [{ commandId: 'c4', key: 'k', status: 'precondition_failed', current: 2 }]);
  assert.equal(own.reads, 1);
});

test('a redelivered command decided without a read is refused by its stored outcome, then read and replayed, not applied twice', async () => {
  const { cluster, store, keyspace, own, first } = await afterFirstBatch();
  applied(keyspace, first);

  const again = await commitBatch(store, [put('c1', 'k', 'v1'), put('c2', 'k', 'v2')], new Date(), own);
  assert.deepEqual(outcomesOf(again), [
    // The replay, read back with what its change wrote.
    { commandId: 'c1', key: 'k', status: 'applied', revision: 1, wrote: 'v1' },
    { commandId: 'c2', key: 'k', status: 'applied', revision: 2 },
  ]);
  assert.equal(own.reads, 2, 'the refused write sent the batch to a read');
  assert.deepEqual((await cluster.changeLog()).map((c) => [c.revision, c.commandId]), [[1, 'c1'], [2, 'c2']]);
  assert.equal((await cluster.stored()).get('k')?.revision, 2);
});

test('another consumer wrote in between: the batch decided from stale knowledge is refused, read and decided again', async () => {
  const { cluster, store, keyspace, own, first } = await afterFirstBatch();
  applied(keyspace, first);
  // A second consumer (a takeover while this one was paused) writes the key.
  await commitBatch(store, [put('other', 'k', 'theirs')], new Date());

  const late = await commitBatch(store, [put('c2', 'k', 'mine', { kind: 'revision', revision: 1 })], new Date(), own);
  assert.deepEqual(outcomesOf(late), [{ commandId: 'c2', key: 'k', status: 'precondition_failed', current: 2 }]);
  assert.equal(own.reads, 2);
  assert.equal((await cluster.stored()).get('k')?.value, 'theirs');
  assert.deepEqual((await cluster.changeLog()).map((c) => c.revision), [1, 2]);

  // Knowing again from that read: the next batch needs none, even with the keyspace behind.
  const next = await commitBatch(store, [put('c3', 'k', 'mine', { kind: 'revision', revision: 2 })], new Date(), own);
  assert.deepEqual(outcomesOf(next), [{ commandId: 'c3', key: 'k', status: 'applied', revision: 3 }]);
  assert.equal(own.reads, 3, 'the keyspace has not applied revision 2 (read), so the batch was read');
});

/** A batch committed with `commitBatch`'s ordering hooks: `sent` resolves once its write is on its way. */
function pipelined(store: Parameters<typeof commitBatch>[0], commands: Command[], own: OwnWrites, previous?: Promise<unknown>) {
  let sent!: () => void;
  const onItsWay = new Promise<void>((r) => (sent = r));
  const committed = commitBatch(store, commands, new Date(), own, { sent, previous: previous?.then(() => undefined) });
  return { committed, onItsWay };
}

test('a batch is decided on the one before it while that one is still in flight, and written behind it with no read', async () => {
  const { cluster, store, keyspace, own, first } = await afterFirstBatch();
  applied(keyspace, first);
  const second = pipelined(store, [put('c2', 'k', 'v2', { kind: 'revision', revision: 1 })], own, Promise.resolve());
  await second.onItsWay;
  // The second batch is not committed yet: the third expects the revision it will give k.
  const third = pipelined(store, [put('c3', 'k', 'v3', { kind: 'revision', revision: 2 })], own, second.committed);
  await third.onItsWay;
  assert.deepEqual(outcomesOf(await second.committed), [{ commandId: 'c2', key: 'k', status: 'applied', revision: 2 }]);
  assert.deepEqual(outcomesOf(await third.committed), [{ commandId: 'c3', key: 'k', status: 'applied', revision: 3 }]);
  assert.equal(own.reads, 1, 'neither was read');
  assert.deepEqual((await cluster.changeLog()).map((c) => [c.revision, c.commandId]), [[1, 'c1'], [2, 'c2'], [3, 'c3']]);
});

test('a batch sent behind one that is refused is refused too, and is read and decided only after that one is committed', async () => {
  const { cluster, store, keyspace, own, first } = await afterFirstBatch();
  applied(keyspace, first);
  // Another consumer writes one batch: exactly as many as the next batch here would have written.
  await commitBatch(store, [put('other', 'k', 'theirs')], new Date());

  const second = pipelined(store, [put('c2', 'elsewhere', 'x')], own, Promise.resolve());
  await second.onItsWay;
  // Decided on the second (unconfirmed) and on the keyspace, which has not seen 'theirs': k is at revision 1.
  const third = pipelined(store, [put('c3', 'k', 'mine', { kind: 'revision', revision: 1 })], own, second.committed);
  assert.deepEqual(outcomesOf(await second.committed), [{ commandId: 'c2', key: 'elsewhere', status: 'applied', revision: 3 }]);
  assert.deepEqual(outcomesOf(await third.committed), [{ commandId: 'c3', key: 'k', status: 'precondition_failed', current: 2 }]);
  assert.equal((await cluster.stored()).get('k')?.value, 'theirs');
  assert.deepEqual((await cluster.changeLog()).map((c) => [c.revision, c.commandId]), [[1, 'c1'], [2, 'other'], [3, 'c2']]);
});

test('batches that delete and batches that do not are written in the order they were sent, though not on one connection', async () => {
  const { cluster, store, keyspace, own, first } = await afterFirstBatch();
  applied(keyspace, first);
  const del = (commandId: string, key: string): Command => ({ type: 'DeleteValue', commandId, key });
  const batches: ReturnType<typeof pipelined>[] = [];
  const script: Command[][] = [[del('d1', 'k')], [put('p1', 'k', 'again')], [del('d2', 'k')], [put('p2', 'k', 'last')]];
  for (const commands of script) {
    const batch = pipelined(store, commands, own, batches.at(-1)?.committed ?? Promise.resolve());
    await batch.onItsWay;
    batches.push(batch);
  }
  const outcomes = (await Promise.all(batches.map((b) => b.committed))).flatMap((b) => outcomesOf(b));
  assert.deepEqual(outcomes.map((o) => [o.commandId, o.status, o.status === 'applied' ? o.revision : null]), [
    ['d1', 'applied', 2],
    ['p1', 'applied', 3],
    ['d2', 'applied', 4],
    ['p2', 'applied', 5],
  ]);
  assert.equal(own.reads, 1, 'none was overtaken, so none was refused and read');
  assert.equal((await cluster.stored()).get('k')?.value, 'last');
});
