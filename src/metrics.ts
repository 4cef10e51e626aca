import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Published } from './bus/command-bus.js';
import { HotCounter, HotHistogram } from './hot-metrics.js';

export type Metrics = ReturnType<typeof createMetrics>;

/** A write's hops (seconds): fine where a healthy write spends its milliseconds, so that a tail shows which hop it is in. */
const HOP_BUCKETS = [0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.5, 1, 5, 30];

/** One registry per app (not prom-client's global one), so that tests can run several apps in one process. */
export function createMetrics(read: {
  revision: () => number;
  keys: () => number;
  lag: () => number;
  arena: () => { bytes: number; live: number };
  /** The command bus's published messages and commands (see CommandBus.published). */
  published?: () => Published | undefined;
}) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // Even a lookup of the label set per request cost as much as the rest of a GET answered from
  // memory: those reads are counted with a plain increment and added to the counter when it is scraped.
  const memoryReads = { count: 0 };
  const hot = <T extends HotCounter | HotHistogram>(metric: T): T => {
    registry.registerMetric(metric as never);
    return metric;
  };
  return {
    registry,
    memoryReads,
    requests: hot(
      new HotCounter('driftkv_http_requests_total', 'HTTP requests by route, method and status', ['route', 'method', 'status'], (counter) => {
        if (memoryReads.count === 0) return;
        counter.add(memoryReads.count, 'value', 'GET', '200');
        memoryReads.count = 0;
      }),
    ),
    latency: hot(
      new HotHistogram(
        'driftkv_http_request_duration_seconds',
        'HTTP request latency by route (GETs answered from memory within the request callback are not timed)',
        [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
        ['route'],
      ),
    ),
    batchSize: hot(new HotHistogram('driftkv_consumer_batch_size', 'Commands per committed batch', [1, 2, 5, 10, 50, 100, 500, 1000, 5000])),
    // Where a write's time goes: the command bus until its batch starts, its batch's commit here,
    // then the change's trip to each instance (the PUT's own latency is
    // driftkv_http_request_duration_seconds{route="value"}).
    commandQueued: hot(
      new HotHistogram(
        'driftkv_command_queued_seconds',
        "From a batch's oldest command being sent to the batch starting to commit (the command bus and the wait for the batch before it); millisecond resolution, across hosts as good as their clocks",
        HOP_BUCKETS,
      ),
    ),
    commandConfirm: hot(
      new HotHistogram(
        'driftkv_command_confirm_seconds',
        "From a write's command being handed to the command bus to the bus confirming it durable (RabbitMQ's publisher confirm); a write's answer waits for it unless the write's outcome comes first",
        HOP_BUCKETS,
      ),
    ),
    batchCommit: hot(
      new HotHistogram(
        'driftkv_consumer_commit_seconds',
        'Time to commit one batch in PostgreSQL: its read, decision and write, retries included',
        [0.0005, 0.001, 0.0015, ...HOP_BUCKETS.slice(1, -1)],
      ),
    ),
    changeVisible: hot(
      new HotHistogram(
        'driftkv_change_visible_seconds',
        "From a batch's decision in the consumer (its changes' at) until its changes are applied here; millisecond resolution, and across hosts as good as their clocks",
        HOP_BUCKETS,
      ),
    ),
    batchReads: new Counter({
      name: 'driftkv_consumer_reads_total',
      help: "Batches the consumer read from PostgreSQL before deciding them (the others were decided from its own last writes and this instance's keyspace, and written in one round trip)",
      registers,
    }),
    commandsApplied: new Counter({ name: 'driftkv_changes_committed_total', help: 'Changes committed by this instance\'s consumer', registers }),
    eventsReceived: new Counter({ name: 'driftkv_events_received_total', help: "Event batches received from the event bus (one that this instance's consumer committed is handed over in-process; its copy through the broker is dropped unread)", registers }),
    reconnects: new Counter({ name: 'driftkv_bus_resubscriptions_total', help: 'Event bus resubscriptions after a reconnect', registers }),
    applied: new Gauge({ name: 'driftkv_applied_revision', help: 'Revision this instance has applied', registers, collect() { this.set(read.revision()); } }),
    keys: new Gauge({ name: 'driftkv_keys', help: 'Keys held in memory', registers, collect() { this.set(read.keys()); } }),
    arena: new Gauge({
      name: 'driftkv_keyspace_arena_bytes',
      help: 'Bytes of the slabs holding the stored answers, outside the JS heap (state="live": the part in use)',
      labelNames: ['state'],
      registers,
      collect() {
        const { bytes, live } = read.arena();
        this.labels('allocated').set(bytes);
        this.labels('live').set(live);
      },
    }),
    // Their ratio is the commands a message carries: the broker's cost is per message.
    commandMessages: countedAtScrape(registers, 'driftkv_command_messages_published_total', 'Command messages this instance handed to the broker', () => read.published?.()?.messages ?? 0),
    commandsPublished: countedAtScrape(registers, 'driftkv_commands_published_total', 'Commands in those messages (the commands sent in one event-loop turn travel in one message)', () => read.published?.()?.commands ?? 0),
    lag: new Gauge({ name: 'driftkv_replication_lag', help: 'Head revision in the store minus the applied revision, as of the last check', registers, collect() { this.set(read.lag()); } }),
  };
}

/** A counter of something counted elsewhere (`total`, never decreasing), brought up to date when scraped. */
function countedAtScrape(registers: Registry[], name: string, help: string, total: () => number): Counter {
  let counted = 0;
  return new Counter({
    name,
    help,
    registers,
    collect() {
      const now = total();
      if (now > counted) this.inc(now - counted);
      counted = now;
    },
  });
}
