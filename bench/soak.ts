/**
 * Soak: one instance under a steady mixed load (puts over a bounded keyspace, reads, /events
 * sockets opened and closed) for SOAK_MINUTES (default 10). RSS and open fds are sampled every
 * 10 s and their trend reported: a leak shows as a slope that does not flatten. Not part of CI.
 * Usage: npm run build && node --import tsx bench/soak.ts   (AMQP_URL/DATABASE_URL: distributed)
 */
import WebSocket from 'ws';
import { openFds, rssMiB } from '../test/support/fuzz-client.js';
import { startInstance } from '../test/support/instance.js';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const SAMPLE_MS = 10_000;
const KEYS = 10_000;

interface Sample {
  readonly s: number;
  readonly rss: number;
  readonly fds: number;
  readonly requests: number;
}

const env: Record<string, string> = {};
for (const name of ['AMQP_URL', 'DATABASE_URL', 'DATABASE_SCHEMA', 'AMQP_PREFIX']) if (process.env[name]) env[name] = process.env[name]!;
const instance = await startInstance(env, 60_000);
const pid = instance.process.pid!;
const deadline = Date.now() + MINUTES * 60_000;
let requests = 0;
let failures = 0;

async function worker(id: number): Promise<void> {
  for (let i = 0; Date.now() < deadline; i++) {
    const key = `soak/${(id * 7919 + i) % KEYS}`;
    const put = i % 3 !== 0;
    const answer = await fetch(`${instance.url}/values/${key}`, put ? { method: 'PUT', body: `v${i}-${'x'.repeat(i % 512)}` } : {}).catch(() => undefined);
    await answer?.arrayBuffer();
    requests++;
    if (!answer || answer.status >= 500) failures++;
  }
}

async function sockets(): Promise<void> {
  while (Date.now() < deadline) {
    const ws = new WebSocket(`${instance.url.replace('http', 'ws')}/events?since=0`);
    ws.on('error', () => {});
    await new Promise((r) => setTimeout(r, 500));
    ws.terminate();
  }
}

const samples: Sample[] = [];
const sampler = setInterval(() => {
  const sample = { s: Math.round((Date.now() - (deadline - MINUTES * 60_000)) / 1000), rss: rssMiB(pid), fds: openFds(pid), requests };
  samples.push(sample);
  console.log(`${sample.s}s rss=${sample.rss}MiB fds=${sample.fds} requests=${sample.requests}`);
}, SAMPLE_MS);
await Promise.all([...Array.from({ length: 8 }, (_, i) => worker(i)), sockets()]);
clearInterval(sampler);
await instance.stop();

/** Least-squares slope per minute over the second half, once warm-up (keyspace filling, JIT) is over. */
function slope(values: { s: number; v: number }[]): number {
  const half = values.slice(Math.floor(values.length / 2));
  const n = half.length;
  const mx = half.reduce((a, p) => a + p.s, 0) / n;
  const my = half.reduce((a, p) => a + p.v, 0) / n;
  const num = half.reduce((a, p) => a + (p.s - mx) * (p.v - my), 0);
  const den = half.reduce((a, p) => a + (p.s - mx) ** 2, 0);
  return den === 0 ? 0 : (num / den) * 60;
}
const first = samples[0]!;
const last = samples.at(-1)!;
console.log(`\n${requests} requests, ${failures} failed or 5xx, over ${MINUTES} min`);
console.log(`RSS ${first.rss} -> ${last.rss} MiB (max ${Math.max(...samples.map((s) => s.rss))}); second-half trend ${slope(samples.map((x) => ({ s: x.s, v: x.rss }))).toFixed(2)} MiB/min`);
console.log(`fds ${first.fds} -> ${last.fds} (max ${Math.max(...samples.map((s) => s.fds))}); second-half trend ${slope(samples.map((x) => ({ s: x.s, v: x.fds }))).toFixed(2)} per min`);
