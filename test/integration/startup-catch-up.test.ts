import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryEventBus } from '../../src/bus/memory/memory-event-bus.js';
import type { BusMessage } from '../../src/bus/event-bus.js';
import { loadConfig } from '../../src/config.js';
import { commitBatch } from '../../src/consumer/commit-batch.js';
import { Keyspace } from '../../src/domain/keyspace.js';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { Replicator } from '../../src/replication/replicator.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import type { SnapshotSink } from '../../src/store/store.js';
import { DATABASE_URL, migratedStore } from './cluster.js';

/**
 * The event queue is bound while the snapshot is read (DESIGN §4 rule 5, overlapped): a change
 * committed after the snapshot but before the binding reaches no queue, and must come from the
 * change log at start, not from the periodic head check (set here to an hour).
 */
test('a change committed between the snapshot and the binding is applied at start, with no event and no periodic check', async () => {
  const { cluster, store } = await migratedStore({ maxConnections: 2 });
  const put = (key: string, value: string) => commitBatch(store, [{ type: 'PutValue', commandId: `c-${key}`, key, value }], new Date());
  await put('before', 'in the snapshot');

  let releaseBinding!: () => void;
  const bindingHeld = new Promise<void>((resolve) => (releaseBinding = resolve));
  const events = new MemoryEventBus();
  const slowEvents = Object.assign(Object.create(events) as MemoryEventBus, {
    subscribe: async (handler: (message: BusMessage) => void) => {
      await bindingHeld;
      await events.subscribe(handler);
    },
  });
  // The snapshot is read, then the change commits (its event goes nowhere: nothing is bound), then the binding completes.
  const racingStore = Object.assign(Object.create(store) as PostgresStore, {
    loadSnapshot: async (sink: SnapshotSink) => {
      const head = await store.loadSnapshot(sink);
      await put('between', 'committed after the snapshot');
      releaseBinding();
      return head;
    },
  });

  const loaded = loadConfig({ AMQP_URL: 'amqp://unused', DATABASE_URL, RESYNC_INTERVAL_MS: '3600000' });
  assert.ok(loaded.ok);
  const keyspace = new Keyspace();
  const metrics = createMetrics({ revision: () => keyspace.revision, keys: () => keyspace.size, lag: () => 0, arena: () => keyspace.arena });
  const replicator = new Replicator(keyspace, racingStore, slowEvents, loaded.config, createLogger('silent', 'test'), metrics);
  await replicator.start();
  try {
    assert.equal(keyspace.get('before')?.value, 'in the snapshot');
    assert.equal(keyspace.get('between')?.value, 'committed after the snapshot');
    assert.equal(keyspace.revision, await cluster.head());
    assert.equal(replicator.ready, true);
  } finally {
    await replicator.stop();
  }
});
