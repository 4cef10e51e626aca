import { Deployment, waitReady } from '../lib/driftkv.js';
import type { Context, Row, ScenarioResult } from '../lib/context.js';
import { SERVICE_CPU, startPinned } from '../lib/process.js';
import { redisGet, startRedis } from '../lib/redis.js';
import { median, pairedRatio, round, roundRatios } from '../lib/stats.js';
import { wrkGet } from '../lib/wrk.js';

type GetResult = Awaited<ReturnType<typeof wrkGet>>;

const KEYS = 100_000;
const CONNECTIONS = 50;
const PIPELINE = 16;
/**
 * Many short rounds rather than the bench's few long ones: a neighbour's burst on this shared
 * machine lasts seconds, so it spoils one short round (which the median drops) instead of a long
 * one, and every server's rounds spread over the scenario's whole span. Same time in all.
 */
const ROUNDS = 9;
const ROUND_SECONDS = 3;

/**
 * The bare servers each round also measures (bench/baseline/bare-uws.ts): the first is the
 * ceiling the ratio is taken against; the others say where the gap between it and driftkv lies.
 */
const BARES = [
  { name: 'bare', mode: 'bytes', label: 'bare uWS' },
  { name: 'bareWithStrings', mode: 'strings', label: 'with string arguments' },
  { name: 'bareMap', mode: 'map', label: 'a Map of the same keys, JSON.stringify and string headers per request' },
  { name: 'bareWithRequiredCalls', mode: 'required', label: 'making only the uWS calls a read needs' },
  {
    name: 'bareWithStoredAnswers',
    mode: 'memory',
    label: `the same calls answering the key's own answer among ${KEYS.toLocaleString('en-US')} stored as driftkv stores them, found by its number`,
  },
] as const;

/** Scenario 1: GET of random keys, driftkv against bare uWebSockets.js servers, same wrk script. */
export async function getScenario(ctx: Context): Promise<ScenarioResult> {
  const deployment = new Deployment(ctx.main);
  const bares: { name: string; label: string; url: string; pid: number; stop: () => Promise<void> }[] = [];
  try {
    // driftkv first: of two servers started one after the other, the second has measured up to
    // 8.5% cheaper per request with the same code (bench/HISTORY.md), so the baselines get that edge.
    await deployment.seed(KEYS);
    const instance = await deployment.start({ INSTANCE_ID: 'driftkv-a', CONSUMER: 'off' }, ctx.nodeArgs);
    await waitReady(instance.url);
    for (const bare of BARES) {
      const started = await startPinned(SERVICE_CPU, process.execPath, [ctx.bareUws], { BARE_MODE: bare.mode, BARE_KEYS: String(KEYS) }, (line) =>
        line.startsWith('{"port"'),
      );
      bares.push({ ...bare, url: `http://127.0.0.1:${JSON.parse(started.readyLine).port}`, pid: started.pid, stop: () => started.stop() });
    }
    const modes = [
      { name: 'GET, 50 connections', depth: 1, target: 0.95 },
      { name: `GET, ${PIPELINE}-deep pipelining x 50 connections`, depth: PIPELINE, target: 0.85 },
    ];
    const rounds = ctx.quick ? ctx.rounds : ROUNDS;
    const seconds = ctx.quick ? ctx.seconds : ROUND_SECONDS;
    const rows: Row[] = [];
    const detail: Record<string, unknown> = { rounds, seconds };
    const medians: Record<number, number> = {};
    for (const mode of modes) {
      // The server's CPU time per answered request, beside the rate (see wrkGet).
      const cpuPerRequest = new Map<string, number[]>();
      const run = async (url: string, pid: number) => {
        const result = await wrkGet(url, pid, { keys: KEYS, depth: mode.depth, connections: CONNECTIONS, seconds });
        const list = cpuPerRequest.get(url) ?? [];
        list.push(result.cpuNsPerRequest);
        cpuPerRequest.set(url, list);
        return result;
      };
      // Warm-up of every server: JIT and the first touch of every page.
      await run(instance.url, instance.pid);
      for (const bare of bares) await run(bare.url, bare.pid);
      cpuPerRequest.clear();
      const a: GetResult[] = [];
      const others = bares.map(() => [] as GetResult[]);
      for (let round = 0; round < rounds; round++) {
        // driftkv, then the bare servers; every other round the reverse, so that driftkv and the
        // ceiling stay next to each other and neither always goes first.
        const order = [-1, ...bares.keys()];
        if (round % 2 === 1) order.reverse();
        for (const i of order) {
          if (i < 0) a.push(await run(instance.url, instance.pid));
          else others[i]!.push(await run(bares[i]!.url, bares[i]!.pid));
        }
        ctx.log(`${mode.name}: driftkv ${Math.round(a.at(-1)!.perSecond)}/s, ${bares.map((b, i) => `${b.name} ${Math.round(others[i]!.at(-1)!.perSecond)}/s`).join(', ')}`);
      }
      const aRates = a.map((r) => r.perSecond);
      const otherRates = others.map((results) => results.map((r) => r.perSecond));
      const ma = median(aRates);
      const rates = otherRates.map(median);
      const ceiling = rates[0]!;
      // Ratios are the median of each round's own (see pairedRatio).
      const ratio = pairedRatio(aRates, otherRates[0]!);
      const errors = a.reduce((n, r) => n + r.errors, 0);
      const ns = (url: string) => Math.round(median(cpuPerRequest.get(url) ?? [0]));
      const perRequest = bares.map((b) => `${b.name} ${ns(b.url)}`).join(', ');
      // Which core limits the rate: wrk's (the load core) or the server's.
      const busy = (results: GetResult[]) =>
        `service ${Math.round(100 * median(results.map((r) => r.serviceCoreBusy)))}%, load ${Math.round(100 * median(results.map((r) => r.loadCoreBusy)))}%`;
      rows.push({
        what: rounds === ctx.rounds && seconds === ctx.seconds ? mode.name : `${mode.name} (${rounds} rounds of ${seconds} s)`,
        driftkv: `${Math.round(ma)} req/s, p50 ${round(median(a.map((r) => r.p50Ms)), 2)} ms, ${ns(instance.url)} ns of server CPU per request (${perRequest}); cores busy: ${busy(a)} (bare: ${busy(others[0]!)})${errors ? ` (${errors} errors)` : ''}`,
        baseline:
          `${bares[0]!.label} ${Math.round(ceiling)} req/s; driftkv's rounds against it ${roundRatios(aRates, otherRates[0]!)} (` +
          bares
            .slice(1)
            .map(
              (b, i) =>
                `${b.label}: ${Math.round(rates[i + 1]!)} req/s, ${round(pairedRatio(otherRates[i + 1]!, otherRates[0]!))}x of bare, driftkv ${round(pairedRatio(aRates, otherRates[i + 1]!))}x of it`,
            )
            .join('; ') +
          ')',
        ratio: round(ratio),
        target: `>= ${mode.target}x`,
        met: ratio >= mode.target && errors === 0,
      });
      medians[mode.depth] = ma;
      detail[mode.name] = { driftkv: a, ...Object.fromEntries(bares.map((b, i) => [b.name, others[i]])), cpuNsPerRequest: Object.fromEntries(cpuPerRequest) };
    }
    rows.push(...(await redisComparison({ rounds, seconds }, detail, medians)));
    return { scenario: 'GET', rows, detail };
  } finally {
    await Promise.all(bares.map((b) => b.stop()));
    await deployment.destroy();
  }
}

/** redis-benchmark -t get at the same concurrency and in the same rounds as driftkv's, for scale (not a target). */
async function redisComparison(timing: { rounds: number; seconds: number }, detail: Record<string, unknown>, driftkv: Record<number, number>): Promise<Row[]> {
  const redis = await startRedis();
  if (!redis) return [];
  try {
    await redis.fill(KEYS);
    const rows: Row[] = [];
    for (const depth of [1, PIPELINE]) {
      const rates: number[] = [];
      for (let round = 0; round < timing.rounds; round++) rates.push(await redisGet(redis.port, KEYS, CONNECTIONS, depth, timing.seconds));
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
