import amqplib from 'amqplib';
import { AMQP_URL, DATABASE_URL, type Deployment } from './driftkv.js';
import { SERVICE_CPU, cpuSeconds, cpuSecondsOfAll, startPinned } from './process.js';
import { round } from './stats.js';
import { wrk } from './wrk.js';

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
  return withBareConsumer(script, deployment, seconds, async (env, consumerPid) => {
    const loadEnv: Record<string, string> = 'rate' in load ? { BARE_RATE: String(load.rate) } : { BARE_CONCURRENCY: String(load.concurrency) };
    const before = { consumer: cpuSeconds(consumerPid), rabbitmq: cpuSecondsOfAll('beam.smp'), postgres: cpuSecondsOfAll('postgres') };
    const writer = await startPinned(SERVICE_CPU, process.execPath, [script], { ...env, ...loadEnv, BARE_ROLE: 'writer' }, (line) => line.includes('"result"'), (seconds + 60) * 1000);
    const r = (JSON.parse(writer.readyLine) as { result: Omit<BareWrites, 'cpuUsPerWrite'> & { total: number; cpuUs: number } }).result;
    const spent = { consumer: cpuSeconds(consumerPid), rabbitmq: cpuSecondsOfAll('beam.smp'), postgres: cpuSecondsOfAll('postgres') };
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
  });
}

export interface BareHttpWrites {
  readonly perSecond: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly meanBatch: number;
  readonly commandsPerMessage: number;
  /** CPU per write, µs: the bare consumer, the HTTP fronts together, RabbitMQ, PostgreSQL. */
  readonly cpuUsPerWrite: { readonly consumer: number; readonly fronts: number; readonly rabbitmq: number; readonly postgres: number };
}

/**
 * The same write path behind HTTP, laid out as the PUT scenario lays out driftkv: `fronts` bare
 * uWebSockets.js servers on the service core (BARE_ROLE=http), each taking its share of wrk's
 * `connections` with the same script, each answer waiting for its write's event; the consumer a
 * process of its own. What the contract plus an HTTP answer cost at the least on this machine.
 */
export async function bareHttpWritePath(script: string, deployment: Deployment, fronts: number, connections: number, seconds: number, keys: number): Promise<BareHttpWrites> {
  return withBareConsumer(script, deployment, seconds, async (env, consumerPid) => {
    const servers = await Promise.all(
      Array.from({ length: fronts }, () => startPinned(SERVICE_CPU, process.execPath, [script], { ...env, BARE_ROLE: 'http' }, (line) => line.includes('"port"'))),
    );
    try {
      const urls = servers.map((s) => `http://127.0.0.1:${(JSON.parse(s.readyLine) as { port: number }).port}`);
      await Promise.all(urls.map((url) => wrk(url, { script: 'put.lua', connections: connections / fronts, seconds: 1, env: { BENCH_KEYS: String(keys) } }))); // warm-up
      const pids = [consumerPid, ...servers.map((s) => s.pid)];
      const counts0 = await frontCounts(urls);
      const before = { own: pids.map(cpuSeconds), rabbitmq: cpuSecondsOfAll('beam.smp'), postgres: cpuSecondsOfAll('postgres') };
      const runs = await Promise.all(urls.map((url) => wrk(url, { script: 'put.lua', connections: connections / fronts, seconds, env: { BENCH_KEYS: String(keys) } })));
      const own = pids.map((pid, n) => cpuSeconds(pid) - before.own[n]!);
      const counts1 = await frontCounts(urls);
      const grew = (name: keyof FrontCounts) => counts1.reduce((n, c, i) => n + c[name] - counts0[i]![name], 0);
      // Every front sees every batch's event: the first front's counts are the batches'.
      const grewOnFirst = (name: keyof FrontCounts) => counts1[0]![name] - counts0[0]![name];
      const requests = runs.reduce((n, r) => n + r.requests, 0);
      const perWrite = (s: number) => Math.round((s * 1e6) / Math.max(1, requests));
      return {
        perSecond: Math.round(runs.reduce((n, r) => n + r.perSecond, 0)),
        errors: runs.reduce((n, r) => n + r.errors, 0),
        p50Ms: round(Math.max(...runs.map((r) => r.p50Ms))),
        meanBatch: round(grewOnFirst('eventIds') / Math.max(1, grewOnFirst('eventMessages')), 1),
        commandsPerMessage: round(grew('next') / Math.max(1, grew('messages')), 1),
        cpuUsPerWrite: {
          consumer: perWrite(own[0]!),
          fronts: perWrite(own.slice(1).reduce((a, b) => a + b, 0)),
          rabbitmq: perWrite(cpuSecondsOfAll('beam.smp') - before.rabbitmq),
          postgres: perWrite(cpuSecondsOfAll('postgres') - before.postgres),
        },
      };
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
    }
  });
}

interface FrontCounts {
  readonly eventMessages: number;
  readonly eventIds: number;
  readonly next: number;
  readonly messages: number;
}

async function frontCounts(urls: string[]): Promise<FrontCounts[]> {
  return Promise.all(urls.map(async (url) => (await (await fetch(`${url}/counts`)).json()) as FrontCounts));
}

/** The bare consumer on the service core for the length of `run`, then its queue and exchange deleted. */
async function withBareConsumer<T>(script: string, deployment: Deployment, seconds: number, run: (env: Record<string, string>, consumerPid: number) => Promise<T>): Promise<T> {
  const env = { AMQP_URL, DATABASE_URL, BARE_SCHEMA: deployment.name, BARE_NAME: `${deployment.name}.bare`, BARE_SECONDS: String(seconds) };
  await deployment.sql.unsafe(`create schema if not exists "${deployment.name}"`);
  const consumer = await startPinned(SERVICE_CPU, process.execPath, [script], { ...env, BARE_ROLE: 'consumer' }, (line) => line.includes('"ready"'));
  try {
    return await run(env, consumer.pid);
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

export function describeBareHttp(bare: BareHttpWrites): string {
  const c = bare.cpuUsPerWrite;
  return (
    `${bare.perSecond} writes/s${bare.errors ? ` (${bare.errors} errors)` : ''}, p50 ${bare.p50Ms} ms, mean batch ${bare.meanBatch}, ${bare.commandsPerMessage} commands per command message; ` +
    `CPU per write ${c.consumer + c.fronts + c.rabbitmq + c.postgres} us (consumer ${c.consumer}, fronts ${c.fronts}, RabbitMQ ${c.rabbitmq}, PostgreSQL ${c.postgres})`
  );
}
