import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import postgres, { type Sql } from 'postgres';
import { dirname } from 'node:path';
import { migrate } from '../../src/store/migrations.js';
import { serviceNodeFlags } from '../../scripts/start-command.js';
import { SERVICE_CPU, startPinned, type Started } from './process.js';

export const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface Instance extends Started {
  readonly port: number;
  readonly url: string;
}

/**
 * One schema and one AMQP prefix per deployment, removed by `destroy`, so that the bench never
 * touches anyone else's state on the shared PostgreSQL and RabbitMQ.
 */
export class Deployment {
  readonly name = `bench_${randomBytes(4).toString('hex')}`;
  readonly sql: Sql;
  private readonly instances = new Set<Instance>();

  constructor(private readonly main: string) {
    this.sql = postgres(DATABASE_URL, { max: 2, onnotice: () => {}, connection: { search_path: this.name } });
  }

  /** Writes `count` keys with 100-byte values straight into the store, as if written one by one. */
  async seed(count: number, valueBytes = 100): Promise<void> {
    await migrate(this.sql, this.name);
    if (count === 0) return;
    await this.sql.unsafe(`
      insert into kv_values (key, value, revision)
      select 'bench:' || lpad(i::text, 8, '0'), substr(repeat(md5(i::text), ${Math.ceil(valueBytes / 32)}), 1, ${valueBytes}), i
      from generate_series(1, ${count}) i`);
    await this.sql`update kv_head set revision = ${count}, compacted = ${count}`;
    await this.sql.unsafe('analyze kv_values');
  }

  async start(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Instance> {
    return this.startMain(this.main, env, nodeArgs);
  }

  /** `start` with another build's main module, on this deployment's schema and broker names. */
  async startMain(main: string, env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<Instance> {
    const started = await startPinned(
      SERVICE_CPU,
      process.execPath,
      // As the build's package.json start script runs it (main is <build>/dist/src/main.js).
      [...serviceNodeFlags(dirname(dirname(dirname(main)))), ...nodeArgs, main],
      {
        AMQP_URL,
        DATABASE_URL,
        DATABASE_SCHEMA: this.name,
        AMQP_PREFIX: this.name,
        SERVER_HOST: '127.0.0.1',
        SERVER_PORT: '0',
        LOG_LEVEL: 'info',
        WRITE_TIMEOUT_MS: '30000',
        ...env,
      },
      (line) => line.includes('"driftkv is listening"'),
    );
    const port = Number(JSON.parse(started.readyLine).port);
    const instance: Instance = { ...started, port, url: `http://127.0.0.1:${port}` };
    this.instances.add(instance);
    void started.exited.then(() => this.instances.delete(instance));
    return instance;
  }

  async destroy(): Promise<void> {
    await Promise.all([...this.instances].map((i) => i.stop()));
    await this.sql.unsafe(`drop schema if exists "${this.name}" cascade`);
    await this.sql.end();
    const connection = await amqplib.connect(AMQP_URL);
    try {
      const channel = await connection.createChannel();
      for (const queue of ['commands', 'commands.dead']) await channel.deleteQueue(`${this.name}.${queue}`);
      for (const exchange of ['events', 'commands.dlx']) await channel.deleteExchange(`${this.name}.${exchange}`);
    } finally {
      await connection.close();
    }
  }
}

export async function waitReady(url: string, timeoutMs = 300_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms`);
}

/** Sums one metric family (all label sets) across instances. */
export async function metricSum(urls: string[], name: string): Promise<number> {
  return sumIn(await metricTexts(urls), name);
}

/** Each instance's /metrics text. */
export function metricTexts(urls: string[]): Promise<string[]> {
  return Promise.all(urls.map(async (url) => (await fetch(`${url}/metrics`)).text()));
}

/** prom-client's event-loop delay histogram (default metrics) samples every 10 ms. */
const LOOP_SAMPLING_MS = 10;

/**
 * How late each instance's event loop ran a timer since its /metrics was last read (prom-client
 * restarts the histogram at every scrape): mean and p99, in ms beyond the sampling interval. The
 * time every message, reply and answer waits before the instance gets to it.
 */
export async function loopDelays(urls: string[]): Promise<{ meanMs: number; p99Ms: number }[]> {
  const late = (text: string, name: string) => Math.max(0, Math.round((sumIn([text], name) * 1000 - LOOP_SAMPLING_MS) * 100) / 100);
  return (await metricTexts(urls)).map((text) => ({
    meanMs: late(text, 'nodejs_eventloop_lag_mean_seconds'),
    p99Ms: late(text, 'nodejs_eventloop_lag_p99_seconds'),
  }));
}

/** One metric family's values (all label sets) summed over /metrics texts. */
export function sumIn(texts: string[], name: string): number {
  let total = 0;
  for (const text of texts) for (const [, n] of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) total += Number(n);
  return total;
}
