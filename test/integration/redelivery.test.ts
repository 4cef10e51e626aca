import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { activeConsumer, Cluster, metric, waitFor, waitForConvergence } from './cluster.js';
import { holdHeadLock } from './database-faults.js';
import { TcpProxy } from './tcp-proxy.js';

const cluster = new Cluster({ WRITE_TIMEOUT_MS: '60000' });
const proxy = new TcpProxy({ host: '127.0.0.1', port: 5672 });
/** The first consumer registered is the active one; it reaches the broker through the proxy. */
let consumer: Instance;
let other: Instance;

before(async () => {
  await proxy.listen();
  consumer = await cluster.start({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
  other = await cluster.start();
});
after(async () => {
  proxy.restore();
  await proxy.close();
  await cluster.destroy();
});

const outcomeOf = async (commandId: string) =>
  (await cluster.sql<{ status: string; revision: string }[]>`select status, revision from kv_outcomes where command_id = ${commandId}`)[0];

test('a command redelivered after its commit (consumer killed before the ack) is not applied again; the client gets the original outcome', async () => {
  assert.equal(await activeConsumer([consumer, other]), consumer);
  const lock = await holdHeadLock(cluster);
  const commandId = 'redelivered-after-commit';
  const answer = call(`${other.url}/values/redelivered`, { method: 'PUT', body: 'original', headers: { 'Idempotency-Key': commandId } });
  try {
    await waitFor('the consumer\'s write to wait for the head lock', () => lock.blocked(), (pids) => pids.length > 0, 30_000);
    // From here the consumer can commit but neither announce the batch nor acknowledge it.
    proxy.freeze();
  } finally {
    await lock.release();
  }
  const stored = await waitFor('the commit', () => outcomeOf(commandId), (o) => o !== undefined, 30_000);
  const batchesBefore = await metric(other, 'driftkv_consumer_batch_size_count');
  await consumer.kill();

  const reply = await answer;
  assert.equal(reply.status, 200, reply.text);
  assert.equal(reply.json.revision, Number(stored!.revision));
  assert.ok((await metric(other, 'driftkv_consumer_batch_size_count')) > batchesBefore, 'the survivor handled the redelivery');
  const log = await cluster.changeLog();
  assert.equal(log.filter((c) => c.commandId === commandId).length, 1);
  assert.equal(log.at(-1)!.revision, Number(stored!.revision), 'nothing was applied after it');

  // The client retries with the same Idempotency-Key: answered from the stored outcome again.
  const retry = await call(`${other.url}/values/redelivered`, { method: 'PUT', body: 'original', headers: { 'Idempotency-Key': commandId } });
  assert.equal(retry.status, 200);
  assert.equal(retry.json.revision, Number(stored!.revision));
  assert.equal(await cluster.head(), Number(stored!.revision));
  proxy.restore();
  const restarted = await cluster.start();
  const state = await waitForConvergence(cluster, [other, restarted]);
  assert.equal(state.get('redelivered')?.value, 'original');
});
