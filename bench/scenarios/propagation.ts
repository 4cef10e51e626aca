import { bareWritePath, describeBare, type BareWrites } from '../lib/bare-write-path.js';
import { brokerHop, type HopLatency } from '../lib/broker-hop.js';
import { AMQP_URL, Deployment, waitReady, type Instance } from '../lib/driftkv.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { median, medianBy, percentile, round, sleep } from '../lib/stats.js';
import { openSocket, textAfter } from '../lib/ws-client.js';
import { describeHops, hopsBetween, medianHops, readHops, type HopFigures } from '../lib/hops.js';
import { writeAtRate } from '../lib/writer.js';

export const RATE = 1000;
/**
 * How long the instances run at the rate before the measured rounds. V8 compiles the hot paths on
 * its own threads, on the service core, for the first few seconds of load (12-16% of that core
 * then, 0-2% after 6 s: bench/HISTORY.md); the rounds measure the service as it runs from then on.
 * The warm-up's own delays are measured too and reported apart.
 */
export const WARM_UP_SECONDS = 10;
const PREFIX = 'prop:';

export interface Round {
  readonly sent: number;
  readonly failed: number;
  readonly received: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  readonly split: Split;
  readonly hops: HopFigures;
}

type Split = Record<'toDecision' | 'afterDecision', { p50: number; p99: number }>;

/**
 * Scenario 3: writes at a fixed 1,000/s through instance A; the delay until a websocket on
 * instance B receives each change (from the moment the PUT was sent). Interleaved in each round
 * with its two floors at the same rate: one hop through RabbitMQ alone, and the contract's whole
 * write path with none of driftkv's code.
 */
export async function propagationScenario(ctx: Context): Promise<ScenarioResult> {
  const deployment = new Deployment(ctx.main);
  try {
    const a = await deployment.start({ INSTANCE_ID: 'driftkv-a' }, ctx.nodeArgs);
    const b = await deployment.start({ INSTANCE_ID: 'driftkv-b', CONSUMER: 'off' }, ctx.nodeArgs);
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    const warmUp = await propagationRound(a, b, `${PREFIX}warm:`, WARM_UP_SECONDS);
    ctx.log(`propagation, the warm-up's ${WARM_UP_SECONDS} s just after start (not counted): p50 ${warmUp.p50} ms, p99 ${warmUp.p99} ms`);
    const seconds = Math.max(5, ctx.seconds);
    const rounds: Round[] = [];
    const hops: HopLatency[] = [];
    const bare: BareWrites[] = [];
    for (let n = 0; n < ctx.rounds; n++) {
      rounds.push(await propagationRound(a, b, `${PREFIX}${n}:`, seconds));
      hops.push(await brokerHop(AMQP_URL, `${deployment.name}.hop`, RATE, seconds));
      bare.push(await bareWritePath(ctx.bareWritePath, deployment, { rate: RATE }, seconds));
      const [r, h, w] = [rounds.at(-1)!, hops.at(-1)!, bare.at(-1)!];
      ctx.log(`propagation: p50 ${r.p50} ms, p99 ${r.p99} ms (${r.received}/${r.sent}); broker alone p99 ${h.p99} ms; the write path alone p50 ${w.p50} ms, p99 ${w.p99} ms`);
    }
    const m = (pick: (r: Round) => number) => round(median(rounds.map(pick)), 2);
    const [p50, p99, max] = [m((r) => r.p50), m((r) => r.p99), m((r) => r.max)];
    const hop = { p50: round(median(hops.map((h) => h.p50))), p99: round(median(hops.map((h) => h.p99))), max: round(median(hops.map((h) => h.max))) };
    const floor = medianBy(bare, (w) => w.p99);
    const [sent, received, failed] = (['sent', 'received', 'failed'] as const).map((k) => rounds.reduce((s, r) => s + r[k], 0)) as [number, number, number];
    const split = { toDecision: { p50: m((r) => r.split.toDecision.p50), p99: m((r) => r.split.toDecision.p99) }, afterDecision: { p50: m((r) => r.split.afterDecision.p50), p99: m((r) => r.split.afterDecision.p99) } };
    return {
      scenario: 'propagation',
      rows: [
        {
          what: `propagation A -> websocket on B at ${RATE} writes/s (${ctx.rounds} ${ctx.rounds === 1 ? 'round' : 'rounds'} of ${seconds} s)`,
          driftkv:
            `p50 ${p50} ms, p99 ${p99} ms, max ${max} ms (${received}/${sent} received; medians of the rounds, whose p99 were ${rounds.map((r) => r.p99).join(', ')} ms); ` +
            `split at the consumer's decision: ${describeSplit(split)}; ` +
            describeHops(medianHops(rounds.map((r) => r.hops)), ' on B') +
            `; before the rounds, the first ${WARM_UP_SECONDS} s at this rate after the instances started (not counted): p50 ${warmUp.p50} ms, p99 ${warmUp.p99} ms, max ${warmUp.max} ms`,
          baseline:
            `RabbitMQ alone, one quorum-queue hop at ${RATE}/s: p50 ${hop.p50} ms, p99 ${hop.p99} ms, max ${hop.max} ms; ` +
            `the contract's write path alone (quorum queue, one statement per batch, the fanout; no HTTP, no websocket, no driftkv code) at ${RATE}/s, publish to event: ` +
            `${describeBare(floor)} (the round with the median p99; the rounds' p99 ${bare.map((w) => w.p99).join(', ')} ms)`,
          ratio: hop.p99 > 0 ? round(p99 / hop.p99) : null,
          target: 'p99 <= 10 ms',
          met: p99 <= 10 && received === sent && failed === 0,
        },
      ],
      detail: { rate: RATE, seconds, warmUp, rounds, brokerHop: hops, writePathAlone: bare },
    };
  } finally {
    await deployment.destroy();
  }
}

/** One measured pass: the socket on B sees each change of `prefix`, written through A. */
export async function propagationRound(a: Instance, b: Instance, prefix: string, seconds: number): Promise<Round> {
  const sentAt: number[] = [];
  const delays: number[] = [];
  // Each change's `at` is when the consumer decided it (its batch's start): the delay splits there.
  const split = { toDecision: [] as number[], afterDecision: [] as number[] };
  const marker = Buffer.from(`"key":"${prefix}`);
  const atMarker = Buffer.from('"at":"');
  const socket = await openSocket(b.port, `/events?prefix=${encodeURIComponent(prefix)}`, (frame) => {
    const now = performance.now();
    const key = textAfter(frame, marker);
    if (key === undefined) return;
    const n = Number(key);
    if (sentAt[n] === undefined) return;
    delays.push(now - sentAt[n]!);
    const decided = Date.parse(textAfter(frame, atMarker) ?? '');
    if (Number.isNaN(decided)) return;
    split.toDecision.push(decided - (performance.timeOrigin + sentAt[n]!));
    split.afterDecision.push(performance.timeOrigin + now - decided);
  });
  try {
    // The consumer runs on A; what the websocket waits for is B's copy.
    const before = await Promise.all([readHops([a.url]), readHops([b.url])]);
    const result = await writeAtRate(a.port, RATE, seconds, (n) => `${prefix}${n}`, { onSent: (n, at) => (sentAt[n] = at) });
    await sleep(1000);
    const after = await Promise.all([readHops([a.url]), readHops([b.url])]);
    const onB = hopsBetween(before[1], after[1]);
    delays.sort((x, y) => x - y);
    const p = (q: number) => round(percentile(delays, q), 2);
    return {
      sent: result.sent,
      failed: result.failed,
      received: delays.length,
      p50: p(0.5),
      p99: p(0.99),
      max: p(1),
      split: splitFigures(split),
      hops: { ...hopsBetween(before[0], after[0]), visibleMeanMs: onB.visibleMeanMs, visibleP99Ms: onB.visibleP99Ms },
    };
  } finally {
    socket.close();
  }
}

/**
 * Percentiles of each side of the decision. `at` has millisecond resolution, so each side is known
 * to within 1 ms (the first side reads up to 1 ms short, the second as much long).
 */
function splitFigures(split: { toDecision: number[]; afterDecision: number[] }): Split {
  return Object.fromEntries(
    Object.entries(split).map(([side, values]) => {
      const sorted = values.slice().sort((x, y) => x - y);
      return [side, { p50: round(percentile(sorted, 0.5), 1), p99: round(percentile(sorted, 0.99), 1) }];
    }),
  ) as Split;
}

function describeSplit({ toDecision: d, afterDecision: a }: Split): string {
  return `sent to decided p50 ${d.p50} ms, p99 ${d.p99} ms; decided to received on B p50 ${a.p50} ms, p99 ${a.p99} ms`;
}
