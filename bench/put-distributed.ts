// End-to-end PUT throughput of two distributed instances (RabbitMQ + PostgreSQL on this machine),
// at a few concurrency levels, with the consumer batch sizes each level ran at.
//   node --import tsx bench/put-distributed.ts            (after `npm run build`)
//   LEVELS=1,16,128 SECONDS=8 VALUE_BYTES=100 node --import tsx bench/put-distributed.ts
// Everything (load generator, instances, broker, database) shares this machine's cores: compare
// the levels of one run with each other, not absolute figures across machines or runs.
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Cluster } from '../test/integration/cluster.js';
import type { Instance } from '../test/support/instance.js';

const levels = (process.env.LEVELS ?? '1,16,128').split(',').map(Number);
const seconds = Number(process.env.SECONDS ?? 8);
const value = 'x'.repeat(Number(process.env.VALUE_BYTES ?? 100));
const agent = new Agent({ keepAlive: true, maxSockets: 1024 });

interface Histogram {
  sum: number;
  count: number;
  buckets: Map<string, number>;
}

function put(instance: Instance, key: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port: instance.port, method: 'PUT', path: `/values/${key}`, agent, headers: { 'content-length': Buffer.byteLength(value) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end(value);
  });
}

async function batchHistogram(instances: Instance[]): Promise<Histogram> {
  const total: Histogram = { sum: 0, count: 0, buckets: new Map() };
  for (const instance of instances) {
    const text = await (await fetch(`${instance.url}/metrics`)).text();
    for (const [, le, n] of text.matchAll(/^driftkv_consumer_batch_size_bucket\{le="([^"]+)"\} (\S+)$/gm)) {
      total.buckets.set(le!, (total.buckets.get(le!) ?? 0) + Number(n));
    }
    total.sum += Number(text.match(/^driftkv_consumer_batch_size_sum (\S+)$/m)?.[1] ?? 0);
    total.count += Number(text.match(/^driftkv_consumer_batch_size_count (\S+)$/m)?.[1] ?? 0);
  }
  return total;
}

function difference(after: Histogram, before: Histogram) {
  const buckets: Record<string, number> = {};
  let previous = 0;
  for (const [le, n] of after.buckets) {
    const cumulative = n - (before.buckets.get(le) ?? 0);
    buckets[`<=${le}`] = cumulative - previous;
    previous = cumulative;
  }
  const count = after.count - before.count;
  return { batches: count, meanBatchSize: count > 0 ? Math.round(((after.sum - before.sum) / count) * 10) / 10 : 0, batchesBySize: buckets };
}

async function runLevel(instances: Instance[], concurrency: number) {
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  const before = await batchHistogram(instances);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const answer = await put(instances[(worker + n) % instances.length]!, `bench/${concurrency}/${n++ % 100_000}`);
        statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
        if (answer.status === 200) latencies.push(answer.ms);
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((x, y) => x - y);
  const at = (q: number) => Math.round((latencies[Math.floor(q * (latencies.length - 1))] ?? 0) * 10) / 10;
  return {
    concurrency,
    putsPerSecond: Math.round((statuses[200] ?? 0) / elapsed),
    statuses,
    latencyMs: { p50: at(0.5), p99: at(0.99) },
    generatorCpuPercent: Math.round(((used.user + used.system) / 1e6 / elapsed) * 100),
    ...difference(await batchHistogram(instances), before),
  };
}

async function main(): Promise<void> {
  const cluster = new Cluster({ WRITE_TIMEOUT_MS: '30000' });
  try {
    const instances = [await cluster.start(), await cluster.start()];
    const results = [];
    for (const concurrency of levels) {
      const result = await runLevel(instances, concurrency);
      console.log(JSON.stringify(result));
      results.push(result);
    }
    const report = { at: new Date().toISOString(), instances: 2, seconds, valueBytes: value.length, results };
    writeFileSync(new URL('./put-distributed.last.json', import.meta.url), JSON.stringify(report, null, 2) + '\n');
  } finally {
    agent.destroy();
    await cluster.destroy();
  }
}

await main();
