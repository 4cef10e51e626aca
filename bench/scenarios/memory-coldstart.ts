import { Deployment, metricSum, waitReady } from '../lib/driftkv.js';
import { benchKey } from '../lib/keys.js';
import type { Context, Row, ScenarioResult } from '../lib/context.js';
import { exec, rssBytes } from '../lib/process.js';
import { startRedis } from '../lib/redis.js';
import { median, pairedRatio, round, roundRatios, sleep } from '../lib/stats.js';

const MiB = 1024 * 1024;

/**
 * Scenarios 4 and 5 share one seeded store of a million keys (14-byte keys, 100-byte values):
 * cold start (process start to /readyz 200) against psql's \copy of the same rows, interleaved,
 * and the memory of each started instance against a redis-server holding the same keys.
 */
export async function memoryAndColdStart(ctx: Context): Promise<ScenarioResult[]> {
  const keys = 1_000_000;
  const deployment = new Deployment(ctx.main);
  try {
    // The runtime alone (no key), to tell the cost per key from the process's fixed cost.
    await deployment.seed(0);
    const empty = await deployment.start({ CONSUMER: 'off' }, ctx.nodeArgs);
    await waitReady(empty.url);
    await sleep(1000);
    const emptyRss = rssBytes(empty.pid);
    await empty.stop();
    await deployment.sql`delete from kv_values`;
    await deployment.seed(keys);
    const [raw] = await deployment.sql<{ bytes: string }[]>`select sum(octet_length(key) + octet_length(value)) as bytes from kv_values`;
    const rawBytes = Number(raw!.bytes);
    const starts: number[] = [];
    const copies: number[] = [];
    const memory: { rss: number; heapUsed: number }[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      const started = performance.now();
      const instance = await deployment.start({ CONSUMER: 'off' }, ctx.nodeArgs);
      await waitReady(instance.url, 600_000, 10);
      starts.push(performance.now() - started);
      await sleep(2000); // let the young generation empty and the snapshot buffers go
      memory.push({ rss: rssBytes(instance.pid), heapUsed: await metricSum([instance.url], 'nodejs_heap_size_used_bytes') });
      await instance.stop();
      copies.push(await copyMs(deployment));
      ctx.log(`cold start ${Math.round(starts.at(-1)!)} ms, \\copy ${Math.round(copies.at(-1)!)} ms, rss ${Math.round(memory.at(-1)!.rss / MiB)} MiB`);
    }
    const redis = await redisMemory(keys);
    const rss = median(memory.map((m) => m.rss));
    const heap = median(memory.map((m) => m.heapUsed));
    const start = median(starts);
    const copy = median(copies);
    // Each start against the \copy measured right after it (see pairedRatio).
    const coldRatio = pairedRatio(starts, copies);
    const memoryRows: Row[] = [
      {
        what: `memory, ${keys.toLocaleString('en')} keys (${round(rawBytes / MiB, 1)} MiB raw)`,
        driftkv:
          `RSS ${round(rss / MiB)} MiB (${Math.round(rss / keys)} B/key; ${Math.round((rss - emptyRss) / keys)} B/key above the ${round(emptyRss / MiB)} MiB of an empty instance), ` +
          `heap ${round(heap / MiB)} MiB (${Math.round(heap / keys)} B/key)`,
        baseline: redis ? `redis RSS ${round(redis.rss / MiB)} MiB (${round(redis.rss / rawBytes)}x raw)` : 'raw bytes',
        ratio: round(rss / rawBytes),
        target: '<= 2.5x raw (RSS)',
        met: rss / rawBytes <= 2.5,
      },
    ];
    const coldRows: Row[] = [
      {
        what: `cold start to /readyz, ${keys.toLocaleString('en')} keys`,
        driftkv: `${Math.round(start)} ms`,
        baseline: `psql \\copy to /dev/null ${Math.round(copy)} ms (driftkv's rounds against it ${roundRatios(starts, copies)})`,
        ratio: round(coldRatio),
        target: '<= 3x',
        met: coldRatio <= 3,
      },
    ];
    return [
      { scenario: 'memory', rows: memoryRows, detail: { keys, rawBytes, emptyRss, memory, redis } },
      { scenario: 'coldstart', rows: coldRows, detail: { keys, startsMs: starts, copiesMs: copies } },
    ];
  } finally {
    await deployment.destroy();
  }
}

async function copyMs(deployment: Deployment): Promise<number> {
  const started = performance.now();
  await exec('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-c', `\\copy (select key, value, revision from "${deployment.name}".kv_values) to /dev/null`]);
  return performance.now() - started;
}

async function redisMemory(keys: number): Promise<{ rss: number; usedMemory: number; emptyRss: number } | null> {
  const redis = await startRedis();
  if (!redis) return null;
  try {
    const empty = await redis.memory();
    await redis.fill(keys, (i) => benchKey(i + 1));
    return { ...(await redis.memory()), emptyRss: empty.rss };
  } finally {
    await redis.stop();
  }
}
