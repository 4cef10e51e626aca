import { Deployment, waitReady } from '../lib/driftkv.js';
import type { Context, Row, ScenarioResult } from '../lib/context.js';
import { cpuSeconds, SERVICE_CPU, startPinned } from '../lib/process.js';
import { redisGet, startRedis } from '../lib/redis.js';
import { median, round } from '../lib/stats.js';
import { wrk, type WrkResult } from '../lib/wrk.js';

const KEYS = 100_000;
const CONNECTIONS = 50;
const PIPELINE = 16;

/** Scenario 1: GET of random keys, driftkv against a bare uWebSockets.js server, same wrk script. */
export async function getScenario(ctx: Context): Promise<ScenarioResult> {
  const deployment = new Deployment(ctx.main);
  const bare = await startPinned(SERVICE_CPU, process.execPath, [ctx.bareUws], {}, (line) => line.startsWith('{"port"'));
  const plain = await startPinned(SERVICE_CPU, process.execPath, [ctx.bareUws], { BARE_MODE: 'strings' }, (line) => line.startsWith('{"port"'));
  const floor = await startPinned(SERVICE_CPU, process.execPath, [ctx.bareUws], { BARE_MODE: 'required' }, (line) => line.startsWith('{"port"'));
  try {
    await deployment.seed(KEYS);
    const instance = await deployment.start({ INSTANCE_ID: 'driftkv-a', CONSUMER: 'off' }, ctx.nodeArgs);
    await waitReady(instance.url);
    const bareUrl = `http://127.0.0.1:${JSON.parse(bare.readyLine).port}`;
    const plainUrl = `http://127.0.0.1:${JSON.parse(plain.readyLine).port}`;
    const floorUrl = `http://127.0.0.1:${JSON.parse(floor.readyLine).port}`;
    const modes = [
      { name: 'GET, 50 connections', depth: 1, target: 0.95 },
      { name: `GET, ${PIPELINE}-deep pipelining x 50 connections`, depth: PIPELINE, target: 0.85 },
    ];
    const rows: Row[] = [];
    const detail: Record<string, unknown> = {};
    const medians: Record<number, number> = {};
    for (const mode of modes) {
      // The server's CPU time per answered request, beside the rate: the cost per request itself,
      // less moved than the rate by a neighbour taking the core for a while.
      const cpuPerRequest = new Map<string, number[]>();
      const run = async (url: string, pid: number) => {
        const before = cpuSeconds(pid);
        const result = await wrk(url, { script: 'get.lua', connections: CONNECTIONS, seconds: ctx.seconds, env: { BENCH_KEYS: String(KEYS), BENCH_PIPELINE: String(mode.depth) } });
        const list = cpuPerRequest.get(url) ?? [];
        list.push(((cpuSeconds(pid) - before) * 1e9) / Math.max(1, result.requests));
        cpuPerRequest.set(url, list);
        return result;
      };
      await run(instance.url, instance.pid); // warm-up: JIT and the first touch of every page
      cpuPerRequest.clear();
      const a: WrkResult[] = [];
      const b: WrkResult[] = [];
      const c: WrkResult[] = [];
      const f: WrkResult[] = [];
      for (let round = 0; round < ctx.rounds; round++) {
        a.push(await run(instance.url, instance.pid));
        b.push(await run(bareUrl, bare.pid));
        c.push(await run(plainUrl, plain.pid));
        f.push(await run(floorUrl, floor.pid));
        ctx.log(
          `${mode.name}: driftkv ${Math.round(a.at(-1)!.perSecond)}/s, bare ${Math.round(b.at(-1)!.perSecond)}/s, ` +
            `bare with strings ${Math.round(c.at(-1)!.perSecond)}/s, bare with the calls a read needs ${Math.round(f.at(-1)!.perSecond)}/s`,
        );
      }
      const ma = median(a.map((r) => r.perSecond));
      const mb = median(b.map((r) => r.perSecond));
      const mc = median(c.map((r) => r.perSecond));
      const mf = median(f.map((r) => r.perSecond));
      const errors = a.reduce((n, r) => n + r.errors, 0);
      const ns = (url: string) => Math.round(median(cpuPerRequest.get(url) ?? [0]));
      const perKey = `, p50 ${round(median(a.map((r) => r.p50Ms)), 2)} ms, ${ns(instance.url)} ns of server CPU per request (bare ${ns(bareUrl)}, the calls a read needs ${ns(floorUrl)})`;
      rows.push({
        what: mode.name,
        driftkv: `${Math.round(ma)} req/s${perKey}${errors ? ` (${errors} errors)` : ''}`,
        baseline:
          `bare uWS ${Math.round(mb)} req/s (with string arguments: ${Math.round(mc)} req/s, driftkv ${round(ma / mc)}x of it; ` +
          `making only the uWS calls a read needs: ${Math.round(mf)} req/s, ${round(mf / mb)}x of bare, driftkv ${round(ma / mf)}x of it)`,
        ratio: round(ma / mb),
        target: `>= ${mode.target}x`,
        met: ma / mb >= mode.target && errors === 0,
      });
      medians[mode.depth] = ma;
      detail[mode.name] = { driftkv: a, bare: b, bareWithStrings: c, bareWithRequiredCalls: f, cpuNsPerRequest: Object.fromEntries(cpuPerRequest) };
    }
    rows.push(...(await redisComparison(ctx, detail, medians)));
    return { scenario: 'GET', rows, detail };
  } finally {
    await Promise.all([bare.stop(), plain.stop(), floor.stop()]);
    await deployment.destroy();
  }
}

/** redis-benchmark -t get at the same concurrency, for scale (not a target). */
async function redisComparison(ctx: Context, detail: Record<string, unknown>, driftkv: Record<number, number>): Promise<Row[]> {
  const redis = await startRedis();
  if (!redis) return [];
  try {
    await redis.fill(KEYS);
    const rows: Row[] = [];
    for (const depth of [1, PIPELINE]) {
      const rates: number[] = [];
      for (let round = 0; round < ctx.rounds; round++) rates.push(await redisGet(redis.port, KEYS, CONNECTIONS, depth, ctx.seconds));
      detail[`redis GET pipeline ${depth}`] = rates;
      const rate = median(rates);
      rows.push({
        what: depth === 1 ? 'GET vs redis-benchmark -t get, 50 connections' : `GET vs redis-benchmark -t get -P ${depth}, 50 connections`,
        driftkv: `${Math.round(driftkv[depth] ?? 0)} req/s`,
        baseline: `redis ${Math.round(rate)} req/s`,
        ratio: round((driftkv[depth] ?? 0) / rate),
        target: 'for scale',
        met: null,
      });
    }
    return rows;
  } finally {
    await redis.stop();
  }
}
