import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { test } from 'node:test';
import amqplib from 'amqplib';
import { writeFramesTogether } from '../../src/bus/amqp/frames-together.js';
import { AMQP_URL } from './cluster.js';

/** Counts the socket writes (one syscall each) under an amqplib connection. */
function countWrites(model: amqplib.ChannelModel): { writes: number } {
  const stream = (model as unknown as { connection: { stream: Duplex & { _write: Function; _writev?: Function } } }).connection.stream;
  const counter = { writes: 0 };
  const write = stream._write.bind(stream);
  const writev = stream._writev?.bind(stream);
  stream._write = (...args: unknown[]) => {
    counter.writes++;
    return write(...args);
  };
  if (writev) {
    stream._writev = (...args: unknown[]) => {
      counter.writes++;
      return writev(...args);
    };
  }
  return counter;
}

async function publishTwenty(together: boolean): Promise<{ writes: number; received: string[] }> {
  const model = await amqplib.connect(AMQP_URL);
  try {
    if (together) assert.equal(writeFramesTogether(model), true, 'this amqplib has the muxer the adapter corks');
    const channel = await model.createConfirmChannel();
    const { queue } = await channel.assertQueue(`it_frames_${randomBytes(4).toString('hex')}`, { exclusive: true });
    const counter = countWrites(model);
    const sent = Array.from({ length: 20 }, (_, i) => `m${i}`);
    // One event-loop turn of publishes, as the command publisher and the consumer's acks make them.
    for (const body of sent) channel.publish('', queue, Buffer.from(body));
    await channel.waitForConfirms();
    const writes = counter.writes;
    const received: string[] = [];
    for (let message = await channel.get(queue, { noAck: true }); message; message = await channel.get(queue, { noAck: true })) {
      received.push(message.content.toString());
    }
    await channel.close();
    return { writes, received };
  } finally {
    await model.close();
  }
}

test('the frames amqplib queues in one turn leave in one socket write, in order', async () => {
  const plain = await publishTwenty(false);
  const together = await publishTwenty(true);
  // Without the adapter each publish is a write of its own: the comparison shows the counter sees them.
  assert.ok(plain.writes >= 20, `plain amqplib wrote ${plain.writes} times for 20 publishes`);
  assert.equal(together.writes, 1, `20 publishes of one turn took ${together.writes} writes`);
  const expected = Array.from({ length: 20 }, (_, i) => `m${i}`);
  assert.deepEqual(plain.received, expected);
  assert.deepEqual(together.received, expected);
});

test('applying it twice changes nothing, and an object without amqplib internals is left alone', async () => {
  assert.equal(writeFramesTogether(undefined), false);
  assert.equal(writeFramesTogether({ connection: {} }), false);
  const model = await amqplib.connect(AMQP_URL);
  try {
    assert.equal(writeFramesTogether(model), true);
    assert.equal(writeFramesTogether(model), true);
    const counter = countWrites(model);
    const channel = await model.createConfirmChannel();
    const { queue } = await channel.assertQueue('', { exclusive: true });
    for (let i = 0; i < 5; i++) channel.publish('', queue, Buffer.from(String(i)));
    await channel.waitForConfirms();
    // createConfirmChannel and assertQueue were a round trip each: count only the publishes' pass.
    assert.ok(counter.writes <= 4, `${counter.writes} writes`);
    assert.equal((await channel.checkQueue(queue)).messageCount, 5);
  } finally {
    await model.close();
  }
});
