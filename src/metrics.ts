import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type Metrics = ReturnType<typeof createMetrics>;

/** A write's hops (seconds): fine where a healthy write spends its milliseconds, so that a tail shows which hop it is in. */
const HOP_BUCKETS = [0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.5, 1, 5, 30];

/** One registry per app (not prom-client's global one), so that tests can run several apps in one process. */
export function createMetrics(read: { revision: () => number; keys: () => number; lag: () => number; arena: () => { bytes: number; live: number } }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  // A labels() lookup per request cost as much as the rest of a GET answered from memory: those
  // reads are counted with a plain increment and added to the counter when it is scraped.
  const memoryReads = { count: 0 };
  return {
    registry,
    memoryReads,
    requests: new Counter({
      name: 'driftkv_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers,
      collect() {
        if (memoryReads.count === 0) return;
        this.labels('value', 'GET', '200').inc(memoryReads.count);
        memoryReads.count = 0;
      },
    }),
    latency: new Histogram({
      name: 'driftkv_http_request_duration_seconds',
      help: 'HTTP request latency by route (GETs answered from memory within the request callback are not timed)',
      labelNames: ['route'] as const,
      buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers,
    }),
    batchSize: new Histogram({ name: 'driftkv_consumer_batch_size', help: 'Commands per committed batch', buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000], registers }),
    // Where a write's time goes: the command bus until its batch starts, its batch's commit here,
    // then the change's trip to each instance (the PUT's own latency is
    // driftkv_http_request_duration_seconds{route="value"}).
    commandQueued: new Histogram({
      name: 'driftkv_command_queued_seconds',
      help: "From a batch's oldest command being sent to the batch starting to commit (the command bus and the wait for the batch before it); millisecond resolution, across hosts as good as their clocks",
      buckets: HOP_BUCKETS,
      registers,
    }),
    commandConfirm: new Histogram({
      name: 'driftkv_command_confirm_seconds',
      help: "From a write's command being handed to the command bus to the bus confirming it durable (RabbitMQ's publisher confirm); a write's answer waits for it unless the write's outcome comes first",
      buckets: HOP_BUCKETS,
      registers,
    }),
    batchCommit: new Histogram({
      name: 'driftkv_consumer_commit_seconds',
      help: 'Time to commit one batch in PostgreSQL: its read, decision and write, retries included',
      buckets: [0.0005, 0.001, 0.0015, ...HOP_BUCKETS.slice(1, -1)],
      registers,
    }),
    changeVisible: new Histogram({
      name: 'driftkv_change_visible_seconds',
      help: "From a batch's decision in the consumer (its changes' at) until its changes are applied here; millisecond resolution, and across hosts as good as their clocks",
      buckets: HOP_BUCKETS,
      registers,
    }),
    batchReads: new Counter({
      name: 'driftkv_consumer_reads_total',
      help: "Batches the consumer read from PostgreSQL before deciding them (the others were decided from its own last writes and this instance's keyspace, and written in one round trip)",
      registers,
    }),
    commandsApplied: new Counter({ name: 'driftkv_changes_committed_total', help: 'Changes committed by this instance\'s consumer', registers }),
    eventsReceived: new Counter({ name: 'driftkv_events_received_total', help: "Event batches received from the event bus (one that this instance's consumer committed counts twice: handed over in-process, then its copy through the broker)", registers }),
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
    lag: new Gauge({ name: 'driftkv_replication_lag', help: 'Head revision in the store minus the applied revision, as of the last check', registers, collect() { this.set(read.lag()); } }),
  };
}
