import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { assertConsecutive, Cluster, snapshot, waitFor, waitForConvergence } from './cluster.js';
import { putAll } from './load.js';

const cluster = new Cluster();
let a: Instance;
let b: Instance;

before(async () => {
  a = await cluster.start();
  b = await cluster.start();
});
after(() => cluster.destroy());

test('a write on one instance is visible on the other with the same ETag', async () => {
  const put = await call(`${a.url}/values/greeting`, { method: 'PUT', body: 'hello' });
  assert.equal(put.status, 200);
  const onB = await waitFor('the value on B', () => call(`${b.url}/values/greeting`), (r) => r.status === 200);
  assert.deepEqual(onB.json, { key: 'greeting', value: 'hello' });
  assert.equal(onB.headers.get('etag'), `"${put.json.revision}"`);
  assert.equal(put.headers.get('etag'), onB.headers.get('etag'));
});

test('read-your-writes holds on the instance that answered, whichever instance consumed', async () => {
  for (let i = 0; i < 10; i++) {
    const target = i % 2 === 0 ? a : b;
    const put = await call(`${target.url}/values/ryw`, { method: 'PUT', body: `v${i}` });
    assert.equal(put.status, 200);
    const get = await call(`${target.url}/values/ryw`);
    assert.equal(get.json.value, `v${i}`);
    assert.equal(get.headers.get('etag'), `"${put.json.revision}"`);
  }
});

test('concurrent writes through both instances converge to one keyspace and one gapless log', async () => {
  const writes = Array.from({ length: 400 }, (_, i) => ({ key: `k${i % 50}`, value: `w${i}`, url: i % 2 === 0 ? a.url : b.url }));
  const results = await putAll(writes, 16);
  const failed = results.filter((r) => r.status !== 200);
  assert.deepEqual(failed, []);

  const stored = await waitForConvergence(cluster, [a, b]);
  const [onA, onB] = await Promise.all([snapshot(a), snapshot(b)]);
  assert.equal(onA.revision, onB.revision);
  assert.deepEqual(onA.entries, onB.entries);
  assert.deepEqual(onA.entries, stored);

  const log = await cluster.changeLog();
  assert.equal(assertConsecutive(log.map((c) => c.revision)), undefined);
  assert.equal(log.at(-1)!.revision, await cluster.head());
  assert.equal(new Set(log.map((c) => c.commandId)).size, log.length, 'a command id appears twice in the change log');
  // Every acknowledged revision is in the log under its key, once.
  const byRevision = new Map(log.map((c) => [c.revision, c.key]));
  for (const r of results) assert.equal(byRevision.get(r.revision!), r.key);
});

test('metrics move: batches, committed changes, received events; both instances ready', async () => {
  const metrics = await Promise.all([a, b].map((i) => call(`${i.url}/metrics`).then((m) => m.text)));
  const value = (text: string, name: string) => Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? 0);
  const total = (texts: string[], name: string) => texts.reduce((sum, text) => sum + value(text, name), 0);
  const committed = total(metrics, 'driftkv_changes_committed_total');
  assert.equal(committed, await cluster.head());
  const batches = total(metrics, 'driftkv_consumer_batch_size_count');
  assert.ok(batches > 0);
  // Every write's command went out in a command message; a message may carry several.
  const published = total(metrics, 'driftkv_commands_published_total');
  const messages = total(metrics, 'driftkv_command_messages_published_total');
  assert.ok(published >= committed, `${published} commands published for ${committed} committed changes`);
  assert.ok(messages >= 1 && messages <= published, `${messages} messages for ${published} commands`);
  // Every committed batch was timed, and every event that carried changes was timed where it was applied.
  assert.equal(total(metrics, 'driftkv_consumer_commit_seconds_count'), batches);
  assert.equal(total(metrics, 'driftkv_command_queued_seconds_count'), batches, 'every batch carried when it was sent');
  // Every write's command was confirmed by the broker and timed (an answer may go out first, once its batch is committed).
  let confirms = 0;
  for (let tries = 0; tries < 50 && confirms < committed; tries++) {
    if (tries > 0) await new Promise((r) => setTimeout(r, 100));
    const texts = await Promise.all([a, b].map((i) => call(`${i.url}/metrics`).then((m) => m.text)));
    confirms = total(texts, 'driftkv_command_confirm_seconds_count');
  }
  assert.ok(confirms >= committed, `${confirms} confirms timed for ${committed} committed changes`);
  assert.ok(total(metrics, 'driftkv_consumer_commit_seconds_sum') > 0);
  // The consumer reads the store for its first batch; the later ones are decided from what it wrote.
  const reads = total(metrics, 'driftkv_consumer_reads_total');
  assert.ok(reads >= 1 && reads < batches, `${reads} of ${batches} batches were read first`);
  for (const text of metrics) {
    assert.ok(value(text, 'driftkv_events_received_total') > 0);
    assert.ok(value(text, 'driftkv_change_visible_seconds_count') > 0);
    assert.equal(value(text, 'driftkv_applied_revision'), await cluster.head());
    assert.equal(value(text, 'driftkv_replication_lag'), 0);
  }
  for (const instance of [a, b]) assert.equal((await call(`${instance.url}/readyz`)).status, 200);
});
