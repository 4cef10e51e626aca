// The floor of the write path DESIGN §1 and §5 lay down, with none of driftkv's code: a command
// through a quorum queue with single active consumer, one batched statement in PostgreSQL per
// delivery batch, one event message per batch through a fanout exchange, the command acked after
// the event's confirm. No HTTP, no decision, no keyspace, no outcome check: what any service on
// this contract pays per write at the least, on the same broker, database and cores.
//   BARE_ROLE=consumer node bench/baseline/bare-write-path.js   (prints {"ready":true} once consuming)
//   BARE_ROLE=writer   node bench/baseline/bare-write-path.js   (writes, prints {"result":…}, exits)
// The writer is the instance's part: it publishes commands (those of one event-loop turn in one
// message, as driftkv does) and waits for each one's event on its own queue bound to the fanout.
// BARE_CONCURRENCY=N keeps N writes in flight (closed loop, as wrk's connections do); BARE_RATE=R
// sends R writes a second whatever the answers (open loop, as the propagation scenario does).
//   BARE_ROLE=http     node bench/baseline/bare-write-path.js   (prints {"port":N}, serves until SIGTERM)
// The writer behind HTTP: a uWebSockets.js server taking `PUT /values/<key>` (wrk's put.lua), whose
// answer, a 200 with the write's revision, waits for the write's event, as driftkv's answers do.
// No parsing beyond the path, no headers read, no keyspace: the least an HTTP front adds.
import { randomBytes } from 'node:crypto';
import amqplib, { type Channel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import postgres from 'postgres';
import uWS from 'uWebSockets.js';
import { onSchedule } from '../lib/schedule.js';
import { percentile } from '../lib/stats.js';

const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const name = env('BARE_NAME');
const COMMANDS = `${name}.commands`;
const EVENTS = `${name}.events`;
const VALUE = 'w'.repeat(100);

type Wire = [id: string, key: string, value: string];

async function consumer(): Promise<void> {
  const sql = postgres(env('DATABASE_URL'), { max: 1, onnotice: () => {}, connection: { search_path: env('BARE_SCHEMA') } });
  await sql`create table if not exists bare_values (key text collate "C" primary key, value text not null, revision bigint not null)`;
  await sql`create table if not exists bare_changes (revision bigint primary key, key text not null, value text, command_id text not null unique)`;
  await sql`create table if not exists bare_head (id int primary key, revision bigint not null)`;
  await sql`insert into bare_head values (1, 0) on conflict do nothing`;
  const connection = await amqplib.connect(env('AMQP_URL'), { noDelay: true });
  const deliveries = await connection.createChannel();
  const events = await connection.createConfirmChannel();
  await declare(deliveries);
  let waiting: ConsumeMessage[] = [];
  let busy = false;
  const drain = async () => {
    busy = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      const commands = batch.flatMap((m) => JSON.parse(m.content.toString()) as Wire[]);
      const base = await commit(sql, commands);
      const event = Buffer.from(JSON.stringify({ base, ids: commands.map((c) => c[0]) }));
      // Acked after the event's confirm (DESIGN §4 rule 3); the next batch does not wait for it.
      events.publish(EVENTS, '', event, {}, (err) => {
        if (err) throw err;
        for (const message of batch) deliveries.ack(message);
      });
    }
    busy = false;
  };
  await deliveries.prefetch(1000, false);
  await deliveries.consume(COMMANDS, (message) => {
    if (!message) return;
    waiting.push(message);
    if (!busy) void drain();
  });
  process.once('SIGTERM', () => void connection.close().then(() => sql.end()).then(() => process.exit(0)));
  process.stdout.write('{"ready":true}\n');
}

/** One statement: the head moves by the batch's size, the values are upserted (last write per key), every change logged with its command id. */
async function commit(sql: postgres.Sql, commands: Wire[]): Promise<number> {
  const last = new Map<string, [string, number]>();
  commands.forEach(([, key, value], n) => last.set(key, [value, n + 1]));
  const [row] = await sql<{ base: number }[]>`
    with head as (
      update bare_head set revision = revision + ${commands.length} where id = 1 returning revision - ${commands.length} as base
    ), put as (
      insert into bare_values (key, value, revision)
      select k, v, (select base from head) + o
        from unnest(${sql.array([...last.keys()])}::text[], ${sql.array([...last.values()].map((e) => e[0]))}::text[], ${sql.array([...last.values()].map((e) => e[1]))}::int[]) as t(k, v, o)
      on conflict (key) do update set value = excluded.value, revision = excluded.revision
    ), logged as (
      insert into bare_changes (revision, key, value, command_id)
      select (select base from head) + o, k, v, c
        from unnest(${sql.array(commands.map((c) => c[1]))}::text[], ${sql.array(commands.map((c) => c[2]))}::text[], ${sql.array(commands.map((c) => c[0]))}::text[])
        with ordinality as t(k, v, c, o)
    )
    select base::int from head`;
  return row!.base;
}

async function declare(channel: Channel): Promise<void> {
  await channel.assertQueue(COMMANDS, { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-single-active-consumer': true, 'x-delivery-limit': 10 } });
  await channel.assertExchange(EVENTS, 'fanout', { durable: true });
}

/** The instance's side: commands published (one message per event-loop turn) and their events awaited on its own queue. */
async function writeSide() {
  const connection = await amqplib.connect(env('AMQP_URL'), { noDelay: true });
  const commands = await connection.createConfirmChannel();
  const events = await connection.createChannel();
  await declare(events);
  const { queue } = await events.assertQueue('', { exclusive: true });
  await events.bindQueue(queue, EVENTS, '');
  const waiters = new Map<string, (revision: number) => void>();
  const counts = { eventMessages: 0, eventIds: 0, next: 0, messages: 0 };
  await events.consume(
    queue,
    (message) => {
      if (!message) return;
      const { base, ids } = JSON.parse(message.content.toString()) as { base: number; ids: string[] };
      counts.eventMessages++;
      counts.eventIds += ids.length;
      ids.forEach((id, n) => {
        waiters.get(id)?.(base + n + 1);
        waiters.delete(id);
      });
    },
    { noAck: true },
  );
  const run = randomBytes(6).toString('hex');
  let turn: Wire[] = [];
  /** Sends one write; `done` gets its revision once its event is here. */
  const send = (key: string, value: string, done: (revision: number) => void) => {
    const id = `${run}-${counts.next++}`;
    waiters.set(id, done);
    if (turn.length === 0)
      setImmediate(() => {
        counts.messages++;
        publish(commands, turn.splice(0));
      });
    turn.push([id, key, value]);
  };
  return { connection, counts, send };
}

async function writer(): Promise<void> {
  const { connection, counts, send } = await writeSide();
  const keys = Number(env('BARE_KEYS', '100000'));
  const write = () => new Promise<void>((done) => send(`put:${String(Math.floor(Math.random() * keys)).padStart(8, '0')}`, VALUE, () => done()));
  const seconds = Number(env('BARE_SECONDS'));
  // Its own CPU from the first write on, without the process's start.
  const cpu = process.cpuUsage();
  const load = (s: number) =>
    process.env.BARE_RATE ? openLoop(write, Number(process.env.BARE_RATE), s) : closedLoop(write, Number(env('BARE_CONCURRENCY')), s);
  await load(1); // warm-up
  [counts.eventMessages, counts.eventIds] = [0, 0];
  const latencies = (await load(seconds)).sort((a, b) => a - b);
  const at = (q: number) => percentile(latencies, q);
  const { user, system } = process.cpuUsage(cpu);
  const result = { total: counts.next, cpuUs: user + system, writes: latencies.length, perSecond: latencies.length / seconds, p50: at(0.5), p99: at(0.99), max: at(1), meanBatch: counts.eventIds / Math.max(1, counts.eventMessages) };
  process.stdout.write(`${JSON.stringify({ result })}\n`);
  await connection.close();
}

async function httpFront(): Promise<void> {
  const { connection, counts, send } = await writeSide();
  // GET /counts: the events seen (every batch's) and the command messages this front published.
  const app = uWS.App().get('/counts', (res) => void res.end(JSON.stringify(counts))).put('/values/:key', (res, req) => {
    const key = req.getParameter(0)!;
    let aborted = false;
    let body = Buffer.alloc(0);
    res.onAborted(() => (aborted = true));
    res.onData((chunk, last) => {
      body = Buffer.concat([body, Buffer.from(chunk)]);
      if (!last) return;
      send(key, body.toString(), (revision) => {
        if (!aborted) res.cork(() => res.end(`{"revision":${revision}}`));
      });
    });
  });
  app.listen('127.0.0.1', 0, (socket) => {
    if (!socket) process.exit(1);
    process.stdout.write(`${JSON.stringify({ port: uWS.us_socket_local_port(socket) })}\n`);
  });
  process.once('SIGTERM', () => void connection.close().then(() => process.exit(0)));
}

function publish(channel: ConfirmChannel, group: Wire[]): void {
  channel.publish('', COMMANDS, Buffer.from(JSON.stringify(group)), { persistent: true, mandatory: true });
}

/** `concurrency` writers, each sending its next write when its last one is visible. */
async function closedLoop(write: () => Promise<void>, concurrency: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await write();
      latencies.push(performance.now() - started);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

/** `rate` writes a second, whatever the answers (see onSchedule). */
async function openLoop(write: () => Promise<void>, rate: number, seconds: number): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  await onSchedule(rate, seconds, () => {
    const at = performance.now();
    pending.push(write().then(() => void latencies.push(performance.now() - at)));
  });
  await Promise.all(pending);
  return latencies;
}

const role = env('BARE_ROLE');
await (role === 'consumer' ? consumer() : role === 'http' ? httpFront() : writer());
