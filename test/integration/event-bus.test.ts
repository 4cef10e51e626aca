import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import { AmqpEventBus } from '../../src/bus/amqp/amqp-event-bus.js';
import { connectBroker } from '../../src/bus/amqp/connection.js';
import type { BusMessage } from '../../src/bus/event-bus.js';
import { createLogger } from '../../src/logger.js';
import { AMQP_URL, waitFor } from './cluster.js';

const prefix = `it_${randomBytes(5).toString('hex')}`;
const log = createLogger('silent', 'test');
const connections = [connectBroker(AMQP_URL, 'event-bus test a', log), connectBroker(AMQP_URL, 'event-bus test b', log)];
const [here, there] = connections.map((c) => new AmqpEventBus(c, prefix, 10_000, log));
after(async () => {
  await Promise.all([here!, there!].map((bus) => bus.close()));
  await Promise.all(connections.map((c) => c.close()));
  const { default: amqplib } = await import('amqplib');
  const admin = await amqplib.connect(AMQP_URL);
  await (await admin.createChannel()).deleteExchange(`${prefix}.events`);
  await admin.close();
});

const batch: Extract<BusMessage, { kind: 'batch' }> = { kind: 'batch', batch: { head: 1, outcomes: [], changes: [{ type: 'value.put', key: 'k', value: 'v', revision: 1, commandId: 'c1', at: new Date().toISOString() }] } };
const opened: BusMessage = { kind: 'connection', event: { type: 'connection.opened', connection: 'x', instance: 'a', at: new Date().toISOString() } };

test('a committed batch reaches the publishing instance before the broker confirms it, and only then (its broker copy is dropped unread); other instances and other messages only through the broker', async () => {
  const got = { here: [] as BusMessage[], there: [] as BusMessage[] };
  await here!.subscribe((m) => got.here.push(m), () => {});
  await there!.subscribe((m) => got.there.push(m), () => {});

  const published = here!.publish(batch);
  assert.deepEqual(got.here, [batch], 'delivered in-process while the publish is in flight');
  await published;
  await waitFor('the broker copy on the other instance', async () => got, (g) => g.there.length === 1, 10_000);
  assert.deepEqual(got.there, [batch]);

  // A batch from another process comes in through the broker.
  const theirs: BusMessage = { kind: 'batch', batch: { ...batch.batch, head: 2, changes: [{ ...batch.batch.changes[0]!, revision: 2 }] } };
  await there!.publish(theirs);
  await waitFor('the other instance\'s batch', async () => got, (g) => g.here.length === 2, 10_000);
  assert.deepEqual(got.here, [batch, theirs], 'the publisher\'s own copy never came back in between');

  const connection = here!.publish(opened);
  assert.equal(got.here.length, 2, 'a connection event is not delivered in-process');
  await connection;
  await waitFor('the connection event', async () => got, (g) => g.there.length === 3 && g.here.length === 3, 10_000);
  assert.deepEqual(got.here.slice(2), [opened]);
  assert.deepEqual(got.there.slice(2), [opened]);
});
