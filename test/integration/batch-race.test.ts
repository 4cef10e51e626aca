import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { commitBatch } from '../../src/consumer/commit-batch.js';
import type { Command } from '../../src/domain/commands.js';
import { decideBatch } from '../../src/domain/decide.js';
import { outcomesOf } from '../../src/domain/events.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { holdHeadLock } from './database-faults.js';
import { DATABASE_URL, migratedStore, type Cluster } from './cluster.js';

const put = (commandId: string, key: string, value: string): Command => ({ type: 'PutValue', commandId, key, value, precondition: undefined });
const deleteMissing = (commandId: string): Command => ({ type: 'DeleteValue', commandId, key: `missing:${commandId}`, precondition: undefined });

/** A batch decided against a read, as the consumer would (a stale consumer keeps it across a pause). */
async function decidedAgainstRead(store: PostgresStore, commands: Command[]) {
  const read = await store.readBatch(
    commands.map((c) => c.commandId),
    commands.map((c) => c.key),
  );
  return { read, decision: decideBatch({ commands, head: read.head, current: read.current, known: read.known, at: new Date().toISOString() }) };
}

async function written(cluster: Cluster, commandId: string) {
  const [changes] = await cluster.sql<{ n: number }[]>`select count(*)::int as n from kv_changes where command_id = ${commandId}`;
  const [outcomes] = await cluster.sql<{ n: number }[]>`select count(*)::int as n from kv_outcomes where command_id = ${commandId}`;
  return { changes: changes!.n, outcomes: outcomes!.n };
}

test('a batch decided before another batch was written is not written, even when that batch consumed no revision', async () => {
  const { cluster, store } = await migratedStore();
  await commitBatch(store, [put('first', 'k', 'v1')], new Date());
  const stale = await decidedAgainstRead(store, [put('late', 'k', 'v2')]);
  // Another consumer writes a batch that only records an outcome: the head revision stays put.
  const other = await commitBatch(store, [deleteMissing('elsewhere')], new Date());
  assert.equal(other.head, stale.read.head, 'the head revision did not move');

  assert.equal(await store.writeBatch(stale.decision, { expected: stale.read.mark, next: 101 }), false);
  assert.deepEqual(await written(cluster, 'late'), { changes: 0, outcomes: 0 });
  assert.equal((await cluster.stored()).get('k')?.value, 'v1');

  // Read and decided again, it goes through with the next revision.
  const batch = await commitBatch(store, [put('late', 'k', 'v2')], new Date());
  assert.deepEqual(outcomesOf(batch), [{ commandId: 'late', key: 'k', status: 'applied', revision: 2 }]);
  assert.deepEqual((await cluster.changeLog()).map((c) => c.revision), [1, 2]);
});

test('two writers decided against the same read: the one that waited for the head lock finds it taken and writes nothing', async () => {
  // Two consumers: each store writes its batches on a connection of its own.
  const { cluster, store } = await migratedStore();
  const other = new PostgresStore({ url: DATABASE_URL, schema: cluster.name, maxConnections: 1 });
  after(() => other.close());
  const a = await decidedAgainstRead(store, [put('a', 'shared', 'from a')]);
  const b = await decidedAgainstRead(other, [put('b', 'shared', 'from b')]);
  assert.equal(a.decision.head, b.decision.head, 'both claim the same revision');
  const lock = await holdHeadLock(cluster);
  const first = store.writeBatch(a.decision, { expected: a.read.mark, next: 102 });
  const second = other.writeBatch(b.decision, { expected: b.read.mark, next: 103 });
  try {
    // Both wait on the head row's lock inside their statements.
    for (let waited = 0; (await lock.blocked()).length < 2; waited += 20) {
      assert.ok(waited < 10_000, 'both writes reached the head lock');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    await lock.release();
  }
  const results = await Promise.all([first, second]);
  assert.deepEqual([...results].sort(), [false, true], 'exactly one of them was written');
  const log = await cluster.changeLog();
  assert.equal(log.length, 1);
  assert.equal(log[0]!.revision, a.decision.head);
  assert.equal((await cluster.stored()).get('shared')?.value, results[0] ? 'from a' : 'from b');
});
