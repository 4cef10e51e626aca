import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { assertConsecutive, Cluster, metric, snapshot, waitFor, waitForConvergence } from './cluster.js';
import { putAll, type Written } from './load.js';
import { TcpProxy } from './tcp-proxy.js';

const cluster = new Cluster({ RESYNC_INTERVAL_MS: '1000', WRITE_TIMEOUT_MS: '3000' });
const proxy = new TcpProxy({ host: '127.0.0.1', port: 5672 });
let a: Instance;
let b: Instance;
/** Reaches the broker through the proxy, and never consumes commands, so faulting it stalls no one else. */
let c: Instance;

before(async () => {
  await proxy.listen();
  a = await cluster.start();
  b = await cluster.start();
  c = await cluster.start({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}`, CONSUMER: 'off' });
});
after(async () => {
  await proxy.close();
  await cluster.destroy();
});

const put = (instance: Instance, key: string, value: string) => call(`${instance.url}/values/${encodeURIComponent(key)}`, { method: 'PUT', body: value });

test('broker connections closed in a write burst: instances reconnect, writes succeed again, state converges', async () => {
  const resubscribed = await Promise.all([a, b, c].map((i) => metric(i, 'driftkv_bus_resubscriptions_total')));
  let acknowledged = 0;
  let closing: Promise<number> | undefined;
  const writes = Array.from({ length: 300 }, (_, i) => ({ key: `reconnect/${i}`, value: `v${i}`, url: [a, b, c][i % 3]!.url }));
  const results = await putAll(writes, 9, (w: Written) => {
    if (w.status === 200 && ++acknowledged === 60) closing = cluster.closeBrokerConnections();
  });
  assert.equal(await closing, 3, 'one connection per instance was closed');

  for (const instance of [a, b, c]) {
    await waitFor('a write to succeed again', () => put(instance, 'after-reconnect', instance.url), (r) => r.status === 200, 30_000);
  }
  const stored = await waitForConvergence(cluster, [a, b, c]);
  for (const w of results.filter((r) => r.status === 200 || r.status === 202)) assert.equal(stored.get(w.key)?.value, w.value);
  const log = await cluster.changeLog();
  assert.equal(assertConsecutive(log.map((l) => l.revision)), undefined);
  assert.equal(new Set(log.map((l) => l.commandId)).size, log.length);
  // A write can succeed, and an instance converge, through the periodic head check before its event
  // channel's setup has run again: the count is awaited, not read once.
  for (const [i, instance] of [a, b, c].entries()) {
    await waitFor('the resubscription to be counted', () => metric(instance, 'driftkv_bus_resubscriptions_total'), (n) => n > resubscribed[i]!, 30_000);
  }
});

test('broker unreachable: not ready, reads still served, writes refused with 503; ready again once it is back', async () => {
  assert.equal((await put(a, 'outage/before', 'x')).status, 200);
  await waitFor('c to see the write', () => call(`${c.url}/values/outage%2Fbefore`), (r) => r.status === 200);
  proxy.cut();
  const ready = await waitFor('c not ready', () => call(`${c.url}/readyz`), (r) => r.status === 503, 30_000);
  assert.equal(ready.json.checks.eventBus, false);
  assert.equal((await call(`${c.url}/values/outage%2Fbefore`)).json?.value, 'x');
  const refused = await put(c, 'outage/during', 'y');
  assert.equal(refused.status, 503);
  assert.ok(refused.headers.get('retry-after'));
  assert.equal((await put(a, 'outage/elsewhere', 'z')).status, 200, 'the other instances still take writes');

  proxy.restore();
  await waitFor('c ready again', () => call(`${c.url}/readyz`), (r) => r.status === 200, 30_000);
  assert.equal((await put(c, 'outage/after', 'w')).status, 200);
  const stored = await waitForConvergence(cluster, [a, b, c]);
  assert.equal(stored.get('outage/elsewhere')?.value, 'z', 'missed while disconnected, caught up from the change log');
  assert.equal(stored.has('outage/during'), false);
});

test('events removed from an instance queue are recovered by the periodic head check', async () => {
  const resubscribed = await metric(c, 'driftkv_bus_resubscriptions_total');
  const outputBefore = c.output.length;
  // A stopped process leaves the broker's deliveries beyond its prefetch window in its queue.
  c.process.kill('SIGSTOP');
  let purged: { name: string; messages: number } | undefined;
  try {
    for (let i = 0; i < 60; i++) assert.equal((await put(a, `lost/${i}`, `v${i}`)).status, 200);
    const queues = await waitFor('events queued for the stopped instance', () => cluster.eventQueues(), (qs) => qs.some((q) => q.messages > 0), 10_000);
    purged = queues.find((q) => q.messages > 0)!;
    await cluster.purgeQueue(purged.name);
  } finally {
    c.process.kill('SIGCONT');
  }
  assert.ok(purged && purged.messages > 0);

  const stored = await waitForConvergence(cluster, [a, b, c]);
  assert.equal(stored.get('lost/59')?.value, 'v59');
  assert.equal((await snapshot(c)).entries.get('lost/59')?.value, 'v59');
  assert.ok(c.output.slice(outputBefore).some((line) => line.includes('behind the store: catching up')), 'the head check did the catching up');
  assert.equal(await metric(c, 'driftkv_bus_resubscriptions_total'), resubscribed, 'no reconnect was involved');
});
