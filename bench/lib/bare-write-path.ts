import amqplib from 'amqplib';
import { AMQP_URL, DATABASE_URL, type Deployment } from './driftkv.js';
import { SERVICE_CPU, cpuSeconds, cpuSecondsOfAll, startPinned } from './process.js';
import { round } from './stats.js';

export interface BareWrites {
  readonly writes: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly meanBatch: number;
  /** CPU per write, µs: the bare consumer, the bare writer, RabbitMQ, PostgreSQL (warm-up included in all, as the writes are). */
  readonly cpuUsPerWrite: { readonly consumer: number; readonly writer: number; readonly rabbitmq: number; readonly postgres: number };
}

export type BareLoad = { readonly concurrency: number } | { readonly rate: number };

/**
 * The contract's write path with none of driftkv's code (bench/baseline/bare-write-path.ts): its
 * consumer and its writer on the service core, where driftkv's instances run, on the deployment's
 * schema and names (`<name>.bare.*`, deleted after). What a write costs on this machine at the least.
 */
export async function bareWritePath(script: string, deployment: Deployment, load: BareLoad, seconds: number): Promise<BareWrites> {
  const env = { AMQP_URL, DATABASE_URL, BARE_SCHEMA: deployment.name, BARE_NAME: `${deployment.name}.bare`, BARE_SECONDS: String(seconds) };
  await deployment.sql.unsafe(`create schema if not exists "${deployment.name}"`);
  const consumer = await startPinned(SERVICE_CPU, process.execPath, [script], { ...env, BARE_ROLE: 'consumer' }, (line) => line.includes('"ready"'));
  try {
    const loadEnv: Record<string, string> = 'rate' in load ? { BARE_RATE: String(load.rate) } : { BARE_CONCURRENCY: String(load.concurrency) };
    const before = { consumer: cpuSeconds(consumer.pid), rabbitmq: cpuSecondsOfAll('beam.smp'), postgres: cpuSecondsOfAll('postgres') };
    const writer = await startPinned(SERVICE_CPU, process.execPath, [script], { ...env, ...loadEnv, BARE_ROLE: 'writer' }, (line) => line.includes('"result"'), (seconds + 60) * 1000);
    const r = (JSON.parse(writer.readyLine) as { result: Omit<BareWrites, 'cpuUsPerWrite'> & { total: number; cpuUs: number } }).result;
    const spent = { consumer: cpuSeconds(consumer.pid), rabbitmq: cpuSecondsOfAll('beam.smp'), postgres: cpuSecondsOfAll('postgres') };
    await writer.stop();
    const perWrite = (s: number) => Math.round((s * 1e6) / Math.max(1, r.total));
    return {
      writes: r.writes,
      perSecond: Math.round(r.perSecond),
      p50: round(r.p50),
      p99: round(r.p99),
      max: round(r.max),
      meanBatch: round(r.meanBatch, 1),
      cpuUsPerWrite: {
        consumer: perWrite(spent.consumer - before.consumer),
        writer: perWrite(r.cpuUs / 1e6),
        rabbitmq: perWrite(spent.rabbitmq - before.rabbitmq),
        postgres: perWrite(spent.postgres - before.postgres),
      },
    };
  } finally {
    await consumer.stop();
    const connection = await amqplib.connect(AMQP_URL);
    try {
      const channel = await connection.createChannel();
      await channel.deleteQueue(`${deployment.name}.bare.commands`);
      await channel.deleteExchange(`${deployment.name}.bare.events`);
    } finally {
      await connection.close();
    }
  }
}

export function describeBare(bare: BareWrites): string {
  const c = bare.cpuUsPerWrite;
  return (
    `${bare.perSecond} writes/s, p50 ${bare.p50} ms, p99 ${bare.p99} ms, max ${bare.max} ms, mean batch ${bare.meanBatch}; ` +
    `CPU per write ${c.consumer + c.writer + c.rabbitmq + c.postgres} us (consumer ${c.consumer}, writer ${c.writer}, RabbitMQ ${c.rabbitmq}, PostgreSQL ${c.postgres})`
  );
}
