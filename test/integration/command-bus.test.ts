import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, test } from 'node:test';
import amqplib from 'amqplib';
import { AmqpCommandBus } from '../../src/bus/amqp/amqp-command-bus.js';
import { connectBroker } from '../../src/bus/amqp/connection.js';
import type { Command } from '../../src/domain/commands.js';
import { createLogger } from '../../src/logger.js';
import { AMQP_URL, waitFor } from './cluster.js';

const log = createLogger('silent', 'test');
const connection = connectBroker(AMQP_URL, 'command-bus test', log);
const prefixes: string[] = [];
const buses: AmqpCommandBus[] = [];

/** Names of queues of a test's own, removed after the tests. */
function newPrefix(): string {
  const prefix = `it_${randomBytes(5).toString('hex')}`;
  prefixes.push(prefix);
  return prefix;
}

/** A command bus on queues of its own (the queue has a single active consumer: one per test). */
function newBus(): AmqpCommandBus {
  buses.push(new AmqpCommandBus(connection, newPrefix(), 10_000, log));
  return buses.at(-1)!;
}

after(async () => {
  for (const bus of buses) await bus.close();
  await connection.close();
  const admin = await amqplib.connect(AMQP_URL);
  const channel = await admin.createChannel();
  for (const prefix of prefixes) {
    for (const queue of ['commands', 'commands.dead']) await channel.deleteQueue(`${prefix}.${queue}`);
    await channel.deleteExchange(`${prefix}.commands.dlx`);
  }
  await admin.close();
});

const put = (commandId: string): Command => ({ type: 'PutValue', commandId, key: commandId, value: 'v' });

test('a command that arrives while the batch before it is being announced is handed over at once', async () => {
  const handed: string[][] = [];
  let releaseFirst!: () => void;
  const firstAnnounced = new Promise<void>((r) => (releaseFirst = r));
  const bus = newBus();
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

test('a batch is handed over once the write of the one before is sent, and a third only once the first is committed', async () => {
  const handed: string[][] = [];
  const commits: (() => void)[] = [];
  let releaseAll = false;
  const bus = newBus();
  await bus.consume(async (commands, batch) => {
    handed.push(commands.map((c) => c.commandId));
    batch?.sent?.();
    // Each batch's commit waits until the test lets it go, as a slow database would.
    if (!releaseAll) await new Promise<void>((r) => commits.push(r));
    await batch?.previous;
    batch?.committed?.();
  }, 100);

  const handedOver = (n: number, what: string) => waitFor(what, async () => handed.length, (m) => m === n, 10_000);
  try {
    await bus.send(put('first'));
    await handedOver(1, 'the first batch');
    await bus.send(put('second'));
    await handedOver(2, 'the second batch, while the first is sent but not committed');
    await bus.send(put('third'));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(handed.length, 2, 'two writes in flight at most: the third waits for the first to commit');
    commits[0]!();
    await handedOver(3, 'the third batch, once the first is committed');
    assert.deepEqual(handed, [['first'], ['second'], ['third']]);
  } finally {
    releaseAll = true;
    for (const commit of commits) commit();
  }
});

/** A bus on a broker connection of its own, and what is left in its command queue once that connection is gone. */
async function busAlone(): Promise<{ bus: AmqpCommandBus; leftAfterDisconnect: () => Promise<number> }> {
  const prefix = newPrefix();
  const own = connectBroker(AMQP_URL, 'command-bus test, own connection', log);
  const bus = new AmqpCommandBus(own, prefix, 10_000, log);
  return {
    bus,
    // Unacknowledged deliveries go back to the queue when their channel closes.
    leftAfterDisconnect: async () => {
      await own.close();
      const admin = await amqplib.connect(AMQP_URL);
      try {
        return (await (await admin.createChannel()).checkQueue(`${prefix}.commands`)).messageCount;
      } finally {
        await admin.close();
      }
    },
  };
}

test('a settled batch is acknowledged shortly after, with no command after it', async () => {
  const { bus, leftAfterDisconnect } = await busAlone();
  let handed = 0;
  await bus.consume(async (_commands, batch) => {
    handed++;
    batch?.committed?.();
  }, 100);
  await bus.send(put('only'));
  await waitFor('the batch', async () => handed, (n) => n === 1, 10_000);
  // Acknowledgements wait at most ACK_DELAY_MS (20 ms) for company.
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(await leftAfterDisconnect(), 0, 'the command was acknowledged before the connection went');
});

test('closing the consumer sends the acknowledgements it was holding', async () => {
  const { bus, leftAfterDisconnect } = await busAlone();
  let settled!: () => void;
  const batchSettled = new Promise<void>((r) => (settled = r));
  await bus.consume(async (_commands, batch) => {
    batch?.committed?.();
    settled();
  }, 100);
  await bus.send(put('only'));
  await batchSettled;
  await new Promise((r) => setImmediate(r)); // the batch's ack is now held, not sent
  await bus.close();
  assert.equal(await leftAfterDisconnect(), 0, 'the held acknowledgement was sent before the channel closed');
});

test('the commands sent in one turn travel in one message, and the bus counts messages and commands', async () => {
  const handed: string[][] = [];
  const bus = newBus();
  await bus.consume(async (commands, batch) => {
    handed.push(commands.map((c) => c.commandId));
    batch?.committed?.();
  }, 100);
  assert.deepEqual(bus.published, { messages: 0, commands: 0 });
  const together = Array.from({ length: 20 }, (_, i) => put(`together-${i}`));
  await Promise.all(together.map((c) => bus.send(c)));
  assert.deepEqual(bus.published, { messages: 1, commands: 20 });
  await bus.send(put('alone'));
  assert.deepEqual(bus.published, { messages: 2, commands: 21 });
  await waitFor('all 21 commands handed over', async () => handed.flat().length, (n) => n === 21, 10_000);
  assert.deepEqual(handed.flat(), [...together.map((c) => c.commandId), 'alone']);
});
