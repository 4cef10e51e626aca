import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { activeConsumer, assertConsecutive, Cluster, waitFor, waitForConvergence } from './cluster.js';
import { backendsOf, holdHeadLock } from './database-faults.js';
import { putAll, type Written } from './load.js';

const cluster = new Cluster({ WRITE_TIMEOUT_MS: '30000', RESYNC_INTERVAL_MS: '1000' });
let a: Instance;
let b: Instance;

before(async () => {
  a = await cluster.start();
  b = await cluster.start();
});
after(() => cluster.destroy());

const alive = (i: Instance) => i.process.exitCode === null && i.process.signalCode === null;

test('the backend of a batch in flight is terminated: the process survives, the batch is retried, applied once', async () => {
  const consumer = await activeConsumer([a, b]);
  const lock = await holdHeadLock(cluster);
  const answer = call(`${a.url}/values/terminated`, { method: 'PUT', body: 'once', headers: { 'Idempotency-Key': 'terminated-1' } });
  try {
    const [blocked] = await waitFor('the batch\'s write to wait for the head lock', () => lock.blocked(), (pids) => pids.length > 0, 30_000);
    assert.ok((await backendsOf(cluster, consumer)).includes(blocked!), 'the waiting backend is the consumer\'s');
    await cluster.sql`select pg_terminate_backend(${blocked!}::int)`;
  } finally {
    await lock.release();
  }
  const reply = await answer;
  assert.equal(reply.status, 200, reply.text);
  assert.ok(alive(consumer));
  const log = await cluster.changeLog();
  assert.equal(log.filter((c) => c.commandId === 'terminated-1').length, 1);
  assert.equal(log.find((c) => c.commandId === 'terminated-1')!.revision, reply.json.revision);
  assert.ok(consumer.output.some((line) => line.includes('committing a batch failed; retrying')), 'the failure was seen and retried');
  const next = await call(`${consumer.url}/values/terminated`, { method: 'PUT', body: 'after' });
  assert.equal(next.status, 200, 'the replaced connections work');
  assert.equal(next.json.revision, reply.json.revision + 1);
});

test('backends terminated again and again during a write burst: both processes survive, nothing lost or doubled', async (t) => {
  let terminated = 0;
  let stop = false;
  const killer = (async () => {
    while (!stop) {
      for (const instance of [a, b]) {
        for (const pid of await backendsOf(cluster, instance)) {
          await cluster.sql`select pg_terminate_backend(${pid}::int)`;
          terminated++;
        }
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const writes = Array.from({ length: 400 }, (_, i) => ({ key: `storm/${i}`, value: `v${i}`, url: i % 2 === 0 ? a.url : b.url }));
  let results: Written[];
  try {
    results = await putAll(writes, 8);
  } finally {
    stop = true;
    await killer;
  }
  t.diagnostic(`backends terminated: ${terminated}; answers: ${JSON.stringify(results.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {}))}`);
  assert.ok(terminated > 5);
  for (const i of [a, b]) if (!alive(i)) t.diagnostic(`a process ended; its last lines:\n${i.output.slice(-10).join('\n')}`);
  assert.ok(alive(a) && alive(b), 'both processes survived');

  const stored = await waitForConvergence(cluster, [a, b], 90_000);
  for (const w of results.filter((r) => r.status === 200 || r.status === 202)) assert.equal(stored.get(w.key)?.value, w.value);
  const log = await cluster.changeLog();
  assert.equal(assertConsecutive(log.map((c) => c.revision)), undefined);
  assert.equal(new Set(log.map((c) => c.commandId)).size, log.length);
  const faults = [...a.output, ...b.output].filter((line) => line.includes('uncaught PostgreSQL driver fault'));
  t.diagnostic(`driver faults caught and survived: ${faults.length}`);
  assert.equal([...a.output, ...b.output].filter((line) => line.includes('"uncaught exception"')).length, 0);
});
