import amqplib from 'amqplib';
import { onSchedule } from './schedule.js';
import { percentile, round } from './stats.js';

export interface HopLatency {
  readonly received: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/**
 * One hop through RabbitMQ alone, as driftkv's commands make it: persistent messages published at
 * `rate` per second into a quorum queue with single active consumer, consumed with acks; the delay
 * from publish to delivery. A write crosses this hop and then the event fanout, so this bounds what
 * propagation can reach on the machine it runs on. Opens its own queue and deletes it.
 */
export async function brokerHop(url: string, queue: string, rate: number, seconds: number): Promise<HopLatency> {
  const connection = await amqplib.connect(url, { noDelay: true });
  try {
    const publisher = await connection.createConfirmChannel();
    const consumer = await connection.createChannel();
    await publisher.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true } });
    const delays: number[] = [];
    await consumer.prefetch(100);
    await consumer.consume(queue, (message) => {
      if (!message) return;
      delays.push(performance.now() - Number(message.content.toString()));
      consumer.ack(message);
    });
    const total = await onSchedule(rate, seconds, () => publisher.publish('', queue, Buffer.from(String(performance.now())), { persistent: true }));
    await publisher.waitForConfirms();
    const deadline = performance.now() + 5000;
    while (delays.length < total && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await publisher.deleteQueue(queue);
    delays.sort((a, b) => a - b);
    return { received: delays.length, p50: round(percentile(delays, 0.5), 2), p99: round(percentile(delays, 0.99), 2), max: round(percentile(delays, 1), 2) };
  } finally {
    await connection.close();
  }
}
