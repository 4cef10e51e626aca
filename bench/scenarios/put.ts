import { Deployment, loopDelays, metricTexts, sumIn, waitReady, type Instance } from '../lib/driftkv.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { bareHttpWritePath, bareWritePath, describeBare, describeBareHttp, type BareHttpWrites, type BareWrites } from '../lib/bare-write-path.js';
import { pgbenchUpsert } from '../lib/pgbench.js';
import { cpuSeconds, cpuSecondsOfAll } from '../lib/process.js';
import { median, medianBy, pairedRatio, round, roundRatios } from '../lib/stats.js';
import { wrk } from '../lib/wrk.js';
import { describeHops, hopsBetween, hopsIn, medianHops } from '../lib/hops.js';

const CONNECTIONS = 50;
const KEYS = 100_000;
/** The bare HTTP fronts of the floor behind HTTP: as many as driftkv's instances here. */
const FRONTS = 2;

/**
 * Scenario 2: PUT end to end through two instances (each answer waits until the write is applied
 * on the instance that took it), against pgbench's single-row upsert at the same concurrency, and
 * beside both the contract's write path alone (no HTTP, no driftkv code) with as many writes in flight.
 */
export async function putScenario(ctx: Context): Promise<ScenarioResult> {
  const deployment = new Deployment(ctx.main);
  try {
    const a = await deployment.start({ INSTANCE_ID: 'driftkv-a' }, ctx.nodeArgs);
    const b = await deployment.start({ INSTANCE_ID: 'driftkv-b' }, ctx.nodeArgs);
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    await putRound(deployment, [a, b], Math.min(3, ctx.seconds)); // warm-up
    const rounds: Awaited<ReturnType<typeof putRound>>[] = [];
    const pg: { tps: number; latencyMs: number; postgresCpuUs: number }[] = [];
    const bare: BareWrites[] = [];
    const bareHttp: BareHttpWrites[] = [];
    for (let round = 0; round < ctx.rounds; round++) {
      rounds.push(await putRound(deployment, [a, b], ctx.seconds));
      const postgres0 = cpuSecondsOfAll('postgres');
      const upserts = await pgbenchUpsert(deployment.sql, deployment.name, CONNECTIONS, ctx.seconds, KEYS);
      const postgresCpuUs = Math.round(((cpuSecondsOfAll('postgres') - postgres0) * 1e6) / Math.max(1, upserts.tps * ctx.seconds));
      pg.push({ ...upserts, postgresCpuUs });
      bare.push(await bareWritePath(ctx.bareWritePath, deployment, { concurrency: CONNECTIONS }, ctx.seconds));
      bareHttp.push(await bareHttpWritePath(ctx.bareWritePath, deployment, FRONTS, CONNECTIONS, ctx.seconds, KEYS));
      ctx.log(
        `PUT: driftkv ${Math.round(rounds.at(-1)!.applied)}/s (batch ${rounds.at(-1)!.meanBatch}, ${rounds.at(-1)!.commandsPerMessage} a message, cpu ${rounds.at(-1)!.instanceCpuPercent.join('% ')}%), ` +
          `pgbench ${Math.round(pg.at(-1)!.tps)}/s, the write path alone ${bare.at(-1)!.perSecond}/s (batch ${bare.at(-1)!.meanBatch}), ` +
          `behind bare HTTP fronts ${bareHttp.at(-1)!.perSecond}/s (batch ${bareHttp.at(-1)!.meanBatch}, ${bareHttp.at(-1)!.commandsPerMessage} a message)`,
      );
    }
    const appliedRates = rounds.map((r) => r.applied);
    const pgRates = pg.map((r) => r.tps);
    const floorRates = bare.map((w) => w.perSecond);
    const httpFloorRates = bareHttp.map((w) => w.perSecond);
    const applied = median(appliedRates);
    const tps = median(pgRates);
    // Each round's driftkv against the pgbench and the write path alone measured right after it (see pairedRatio).
    const ratio = pairedRatio(appliedRates, pgRates);
    const errors = rounds.reduce((n, r) => n + r.errors, 0);
    const floor = medianBy(bare, (w) => w.perSecond); // the round with the median rate
    const httpFloor = medianBy(bareHttp, (w) => w.perSecond);
    return {
      scenario: 'PUT',
      rows: [
        {
          what: 'PUT end to end, 2 instances, 50 connections',
          driftkv:
            `${Math.round(applied)} applied/s${errors ? ` (${errors} not 200)` : ''}, p50 ${round(median(rounds.map((r) => r.p50Ms)), 1)} ms, ` +
            `p99 ${round(median(rounds.map((r) => r.p99Ms)), 1)} ms (wrk's, with its coordinated-omission correction), mean batch ${round(median(rounds.map((r) => r.meanBatch)), 1)}, ` +
            `${round(median(rounds.map((r) => r.commandsPerMessage)), 1)} commands per command message; ` +
            `of which ${describeHops(medianHops(rounds.map((r) => r.hops)))}; ${describeCpu(rounds.map((r) => r.cpuUsPerWrite))}; ` +
            describeLoops(rounds.map((r) => r.loopDelay)),
          baseline:
            `pgbench upsert ${Math.round(tps)} tps (driftkv's rounds against it ${roundRatios(appliedRates, pgRates)}), mean ${round(median(pg.map((r) => r.latencyMs)), 1)} ms; PostgreSQL CPU per upsert ${median(pg.map((r) => r.postgresCpuUs))} us. ` +
            `The contract's write path alone (quorum queue, one statement per batch, the fanout; no HTTP, no driftkv code), ${CONNECTIONS} writes in flight: ` +
            `${describeBare(floor)}; ${round(pairedRatio(floorRates, pgRates))}x of pgbench, driftkv ${round(pairedRatio(appliedRates, floorRates))}x of it. ` +
            `The same path behind ${FRONTS} bare uWebSockets.js fronts laid out as driftkv's instances (wrk's script and connections, each answer waiting for its event; no driftkv code): ` +
            `${describeBareHttp(httpFloor)}; ${round(pairedRatio(httpFloorRates, pgRates))}x of pgbench (rounds ${roundRatios(httpFloorRates, pgRates)}), driftkv ${round(pairedRatio(appliedRates, httpFloorRates))}x of it`,
          ratio: round(ratio),
          target: '>= 1.0x',
          met: ratio >= 1 && errors === 0,
        },
      ],
      detail: { driftkv: rounds, pgbench: pg, writePathAlone: bare, writePathBehindHttp: bareHttp },
    };
  } finally {
    await deployment.destroy();
  }
}

/** Two wrk processes, 25 connections on each instance, at the same time. */
export async function putRound(deployment: Deployment, instances: Instance[], seconds: number) {
  const urls = instances.map((i) => i.url);
  const before = await readCounters(deployment, urls);
  const cpu0 = instances.map((i) => cpuSeconds(i.pid));
  const [postgres0, rabbitmq0] = [cpuSecondsOfAll('postgres'), cpuSecondsOfAll('beam.smp')];
  const started = performance.now();
  const runs = await Promise.all(
    instances.map((i) => wrk(i.url, { script: 'put.lua', connections: CONNECTIONS / instances.length, seconds, env: { BENCH_KEYS: String(KEYS) } })),
  );
  const elapsed = (performance.now() - started) / 1000;
  // First: any scrape restarts the loop-delay histogram, and the round's began with the reads above.
  const loop = await loopDelays(urls);
  const cpu = instances.map((i, n) => cpuSeconds(i.pid) - cpu0[n]!);
  const cpuPercent = cpu.map((seconds) => Math.round((seconds / elapsed) * 100));
  const [postgres1, rabbitmq1] = [cpuSecondsOfAll('postgres'), cpuSecondsOfAll('beam.smp')];
  const after = await readCounters(deployment, urls);
  const grew = (counter: keyof typeof after.sums) => after.sums[counter] - before.sums[counter];
  const committed = after.head - before.head;
  const perWrite = (seconds: number) => round((seconds * 1e6) / Math.max(1, committed), 0);
  return {
    applied: runs.reduce((n, r) => n + r.perSecond, 0),
    committed,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    p50Ms: Math.max(...runs.map((r) => r.p50Ms)),
    p99Ms: Math.max(...runs.map((r) => r.p99Ms)),
    batches: grew('batches'),
    meanBatch: round(grew('batched') / Math.max(1, grew('batches')), 1),
    // The broker's cost is per message: what a command message carried on average.
    commandsPerMessage: round(grew('published') / Math.max(1, grew('messages')), 1),
    instanceCpuPercent: cpuPercent,
    cpuUsPerWrite: { a: perWrite(cpu[0]!), b: perWrite(cpu[1]!), rabbitmq: perWrite(rabbitmq1 - rabbitmq0), postgres: perWrite(postgres1 - postgres0) },
    hops: hopsBetween(before.hops, after.hops),
    loopDelay: { a: loop[0]!, b: loop[1]! },
  };
}

/** The service's figures a round is measured by: the store's head, and from one scrape of each instance the hop histograms and counters summed over the instances. */
async function readCounters(deployment: Deployment, urls: string[]) {
  const [texts, revision] = await Promise.all([metricTexts(urls), head(deployment)]);
  const sum = (name: string) => sumIn(texts, name);
  return {
    head: revision,
    hops: hopsIn(texts),
    sums: {
      batches: sum('driftkv_consumer_batch_size_count'),
      batched: sum('driftkv_consumer_batch_size_sum'),
      messages: sum('driftkv_command_messages_published_total'),
      published: sum('driftkv_commands_published_total'),
    },
  };
}

/**
 * Where a write's CPU goes (medians over rounds): what caps the rate when every process shares the
 * machine's two cores.
 */
function describeCpu(rounds: { a: number; b: number; rabbitmq: number; postgres: number }[]): string {
  const m = (part: keyof (typeof rounds)[number]) => median(rounds.map((r) => r[part]));
  const total = m('a') + m('b') + m('rabbitmq') + m('postgres');
  return (
    `CPU per write ${total} us (instance A ${m('a')}, B ${m('b')}, RabbitMQ ${m('rabbitmq')}, PostgreSQL ${m('postgres')}): ` +
    `at most ${Math.round(2e6 / total)} writes/s on 2 cores`
  );
}

/** The instances' event-loop delay (medians over rounds): the wait at each pass of a write through them. */
function describeLoops(rounds: Record<'a' | 'b', { meanMs: number; p99Ms: number }>[]): string {
  const m = (which: 'a' | 'b', figure: 'meanMs' | 'p99Ms') => median(rounds.map((r) => r[which][figure]));
  return `instances' event loops late by ${m('a', 'meanMs')} ms on average, ${m('a', 'p99Ms')} ms at p99 (A), ${m('b', 'meanMs')} and ${m('b', 'p99Ms')} ms (B)`;
}

async function head(deployment: Deployment): Promise<number> {
  const [row] = await deployment.sql<{ revision: string }[]>`select revision from kv_head`;
  return Number(row!.revision);
}
