import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { AMQP_URL, Cluster, waitFor, waitForConvergence } from './cluster.js';

const cluster = new Cluster();
let a: Instance;
let b: Instance;
let broker: ChannelModel;
let channel: Channel;

before(async () => {
  a = await cluster.start();
  b = await cluster.start();
  broker = await amqplib.connect(AMQP_URL);
  channel = await broker.createChannel();
});
after(async () => {
  await broker.close();
  await cluster.destroy();
});

const publish = (content: string, messageId: string) =>
  channel.sendToQueue(`${cluster.name}.commands`, Buffer.from(content), { persistent: true, messageId });

test('a malformed command message is dead-lettered and logged, and the queue keeps flowing', async () => {
  publish('{"not":"commands"', 'garbage-1');
  publish(JSON.stringify({ commands: [{ type: 'PutValue', commandId: 'x', key: 'k' }] }), 'garbage-2');
  const dead = await waitFor('two dead letters', () => channel.checkQueue(`${cluster.name}.commands.dead`), (q) => q.messageCount === 2, 30_000);
  assert.equal(dead.messageCount, 2);
  assert.ok([...a.output, ...b.output].filter((l) => l.includes('malformed command message')).length >= 2);
  assert.equal((await call(`${a.url}/values/after-garbage`, { method: 'PUT', body: 'ok' })).status, 200);
  assert.equal((await channel.checkQueue(`${cluster.name}.commands`)).messageCount, 0);
});

test('the same command published twice, alone and inside a group, is applied once', async () => {
  const command = { type: 'PutValue', commandId: 'published-twice', key: 'twice', value: 'first' };
  const again = { ...command, value: 'second' };
  publish(JSON.stringify({ commands: [command] }), command.commandId);
  publish(JSON.stringify({ commands: [{ type: 'PutValue', commandId: 'neighbour', key: 'neighbour', value: 'n' }, again] }), 'group-1');
  const stored = await waitFor('both messages consumed', () => cluster.stored(), (s) => s.has('neighbour'), 30_000);
  assert.equal(stored.get('twice')?.value, 'first');
  const log = await cluster.changeLog();
  assert.equal(log.filter((c) => c.commandId === 'published-twice').length, 1);
  await waitForConvergence(cluster, [a, b]);
  const onB = await call(`${b.url}/values/twice`);
  assert.equal(onB.json.value, 'first');
  assert.equal(onB.headers.get('etag'), `"${stored.get('twice')!.revision}"`);
});
