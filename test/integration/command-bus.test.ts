import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import { AmqpCommandBus } from '../../src/bus/amqp/amqp-command-bus.js';
import { connectBroker } from '../../src/bus/amqp/connection.js';
import type { Command } from '../../src/domain/commands.js';
import { createLogger } from '../../src/logger.js';
import { AMQP_URL, waitFor } from './cluster.js';

const prefix = `it_${randomBytes(5).toString('hex')}`;
const log = createLogger('silent', 'test');
const connection = connectBroker(AMQP_URL, 'command-bus test', log);
const bus = new AmqpCommandBus(connection, prefix, 10_000, log);
after(async () => {
  await bus.close();
  await connection.close();
  const admin = await amqplib.connect(AMQP_URL);
  const channel = await admin.createChannel();
  for (const queue of ['commands', 'commands.dead']) await channel.deleteQueue(`${prefix}.${queue}`);
  await channel.deleteExchange(`${prefix}.commands.dlx`);
  await admin.close();
});

const put = (commandId: string): Command => ({ type: 'PutValue', commandId, key: commandId, value: 'v' });

test('a command that arrives while the batch before it is being announced is handed over at once', async () => {
  const handed: string[][] = [];
  let releaseFirst!: () => void;
  const firstAnnounced = new Promise<void>((r) => (releaseFirst = r));
  await bus.consume(async (commands, batch) => {
    handed.push(commands.map((c) => c.commandId));
    batch?.committed?.();
    // The first batch is committed, and its announcement hangs until the test lets it go.
    if (handed.length === 1) await firstAnnounced;
  }, 100);

  try {
    await bus.send(put('first'));
    await waitFor('the first batch', async () => handed.length, (n) => n === 1, 10_000);
    await bus.send(put('second'));
    await waitFor('the second batch, while the first is still being announced', async () => handed.length, (n) => n === 2, 10_000);
    assert.deepEqual(handed, [['first'], ['second']]);
  } finally {
    releaseFirst();
  }
});
