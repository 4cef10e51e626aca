import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqplib from 'amqplib';
import postgres, { type Sql } from 'postgres';
import { after } from 'node:test';
import { PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres-store.js';
import { call } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';

const run = promisify(execFile);

export const AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A store on a schema of its own, migrated; the store is closed and the schema dropped after the test file. */
export async function migratedStore(options: Partial<PostgresStoreOptions> = {}): Promise<{ cluster: Cluster; store: PostgresStore }> {
  const cluster = new Cluster();
  const store = new PostgresStore({ url: DATABASE_URL, schema: cluster.name, maxConnections: 1, ...options });
  after(async () => {
    await store.close();
    await cluster.destroy();
  });
  await store.migrate();
  return { cluster, store };
}

export interface Entry {
  readonly value: string;
  readonly revision: number;
}

/**
 * Instances of one test file share a random schema and AMQP prefix, so that runs (and other
 * suites on the same servers) never see each other's state; `destroy` removes both.
 */
export class Cluster {
  readonly name = `it_${randomBytes(5).toString('hex')}`;
  readonly sql: Sql;
  readonly instances: Instance[] = [];

  constructor(private readonly defaults: Record<string, string> = {}) {
    this.sql = postgres(DATABASE_URL, { max: 2, onnotice: () => {}, connection: { search_path: this.name } });
  }

  get env(): Record<string, string> {
    return { AMQP_URL, DATABASE_URL, DATABASE_SCHEMA: this.name, AMQP_PREFIX: this.name, LOG_LEVEL: 'info', ...this.defaults };
  }

  async start(env: Record<string, string> = {}): Promise<Instance> {
    const instance = await startInstance({ ...this.env, ...env }, 60_000);
    this.instances.push(instance);
    return instance;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.stop()));
    await this.sql.unsafe(`drop schema if exists "${this.name}" cascade`);
    await this.sql.end();
    const connection = await amqplib.connect(AMQP_URL);
    const channel = await connection.createChannel();
    for (const queue of ['commands', 'commands.dead']) await channel.deleteQueue(`${this.name}.${queue}`);
    for (const exchange of ['events', 'commands.dlx']) await channel.deleteExchange(`${this.name}.${exchange}`);
    await connection.close();
  }

  async head(): Promise<number> {
    const [row] = await this.sql<{ revision: string }[]>`select revision from kv_head`;
    return Number(row!.revision);
  }

  /** Every revision in the change log, in order. */
  async changeLog(): Promise<{ revision: number; key: string; commandId: string }[]> {
    const rows = await this.sql<{ revision: string; key: string; command_id: string }[]>`select revision, key, command_id from kv_changes order by revision`;
    return rows.map((r) => ({ revision: Number(r.revision), key: r.key, commandId: r.command_id }));
  }

  async stored(): Promise<Map<string, Entry>> {
    const rows = await this.sql<{ key: string; value: string; revision: string }[]>`select key, value, revision from kv_values`;
    return new Map(rows.map((r) => [r.key, { value: r.value, revision: Number(r.revision) }]));
  }

  /** Closes this cluster's broker connections only (others share the broker). */
  async closeBrokerConnections(): Promise<number> {
    const { stdout } = await run('rabbitmqctl', ['-q', 'list_connections', 'pid', 'client_properties']);
    const pids = stdout.split('\n').filter((line) => line.includes(`driftkv ${this.name} `)).map((line) => line.split('\t')[0]!);
    for (const pid of pids) await run('rabbitmqctl', ['-q', 'close_connection', pid, 'test: closing connections']);
    return pids.length;
  }

  /** The server-named queues bound to this cluster's events exchange. */
  async eventQueues(): Promise<{ name: string; messages: number }[]> {
    const { stdout: bindings } = await run('rabbitmqctl', ['-q', 'list_bindings', 'source_name', 'destination_name']);
    const names = new Set(bindings.split('\n').filter((l) => l.startsWith(`${this.name}.events\t`)).map((l) => l.split('\t')[1]!));
    const { stdout: queues } = await run('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages']);
    return queues
      .split('\n')
      .map((l) => l.split('\t'))
      .filter(([name]) => names.has(name!))
      .map(([name, messages]) => ({ name: name!, messages: Number(messages) }));
  }

  async purgeQueue(name: string): Promise<void> {
    await run('rabbitmqctl', ['-q', 'purge_queue', name]);
  }
}

/** The whole keyspace an instance serves, page by page, and the revision it has applied. */
export async function snapshot(instance: Instance): Promise<{ revision: number; entries: Map<string, Entry> }> {
  const entries = new Map<string, Entry>();
  let after = '';
  let revision = -1;
  for (;;) {
    const page = await call(`${instance.url}/values?limit=1000${after ? `&after=${encodeURIComponent(after)}` : ''}`);
    if (revision < 0) revision = page.json.revision;
    for (const item of page.json.items) entries.set(item.key, { value: item.value, revision: item.revision });
    if (!page.json.next) break;
    after = page.json.next;
  }
  return { revision, entries };
}

export async function appliedRevision(instance: Instance): Promise<number> {
  const answer = await call(`${instance.url}/readyz`);
  return answer.json.revision;
}

/** Polls until `check` holds; fails with the last observation when the bound passes. */
export async function waitFor<T>(what: string, observe: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await observe();
      if (check(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last, mapReplacer)} ${lastError ?? ''}`);
}

/** Waits until every instance has applied the store's head and serves exactly the stored keyspace. */
export async function waitForConvergence(cluster: Cluster, instances: Instance[], timeoutMs = 60_000): Promise<Map<string, Entry>> {
  let stored = new Map<string, Entry>();
  await waitFor(
    'every instance to serve the stored keyspace',
    async () => {
      const head = await cluster.head();
      stored = await cluster.stored();
      const views = await Promise.all(instances.map(snapshot));
      return views.map((v) => v.revision === head && sameEntries(v.entries, stored));
    },
    (ok) => ok.every(Boolean),
    timeoutMs,
  );
  return stored;
}

export function sameEntries(a: Map<string, Entry>, b: Map<string, Entry>): boolean {
  if (a.size !== b.size) return false;
  for (const [key, entry] of a) {
    const other = b.get(key);
    if (!other || other.value !== entry.value || other.revision !== entry.revision) return false;
  }
  return true;
}

export function assertConsecutive(revisions: number[], from = 1): string | undefined {
  for (let i = 0; i < revisions.length; i++) {
    if (revisions[i] !== from + i) return `expected revision ${from + i} at position ${i}, found ${revisions[i]}`;
  }
  return undefined;
}

function mapReplacer(_key: string, value: unknown) {
  return value instanceof Map ? Object.fromEntries(value) : value;
}

export async function metric(instance: Instance, name: string): Promise<number> {
  const text = (await call(`${instance.url}/metrics`)).text;
  return Number(text.match(new RegExp(`^${name} (\\S+)$`, 'm'))?.[1] ?? 0);
}

/** The instance whose consumer the broker made active: the one that committed the last write. */
export async function activeConsumer(instances: Instance[]): Promise<Instance> {
  const before = await Promise.all(instances.map((i) => metric(i, 'driftkv_consumer_batch_size_count')));
  const put = await call(`${instances[0]!.url}/values/${encodeURIComponent('probe/active')}`, { method: 'PUT', body: String(Date.now()) });
  if (put.status !== 200) throw new Error(`probe write failed: ${put.status} ${put.text}`);
  const afterwards = await Promise.all(instances.map((i) => metric(i, 'driftkv_consumer_batch_size_count')));
  const index = afterwards.findIndex((n, i) => n > before[i]!);
  if (index < 0) throw new Error('no instance committed the probe write');
  return instances[index]!;
}

