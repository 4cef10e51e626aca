import { bareWritePath, describeBare } from '../lib/bare-write-path.js';
import { brokerHop } from '../lib/broker-hop.js';
import { AMQP_URL, Deployment, waitReady } from '../lib/driftkv.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { percentile, round, sleep } from '../lib/stats.js';
import { openSocket } from '../lib/ws-client.js';
import { describeHops, hopsBetween, readHops } from '../lib/hops.js';
import { writeAtRate } from '../lib/writer.js';

const RATE = 1000;
const PREFIX = 'prop:';

/**
 * Scenario 3: writes at a fixed 1,000/s through instance A; the delay until a websocket on
 * instance B receives each change (from the moment the PUT was sent).
 */
export async function propagationScenario(ctx: Context): Promise<ScenarioResult> {
  const deployment = new Deployment(ctx.main);
  try {
    const a = await deployment.start({ INSTANCE_ID: 'driftkv-a' }, ctx.nodeArgs);
    const b = await deployment.start({ INSTANCE_ID: 'driftkv-b', CONSUMER: 'off' }, ctx.nodeArgs);
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    const sentAt: number[] = [];
    const delays: number[] = [];
    // Each change's `at` is when the consumer decided it (its batch's start): the delay splits there.
    const split = { toDecision: [] as number[], afterDecision: [] as number[] };
    const marker = Buffer.from(`"key":"${PREFIX}`);
    const atMarker = Buffer.from('"at":"');
    const socket = await openSocket(b.port, `/events?prefix=${PREFIX}`, (frame) => {
      const now = performance.now();
      const at = frame.indexOf(marker);
      if (at < 0) return;
      const n = Number(frame.toString('latin1', at + marker.length, frame.indexOf(0x22, at + marker.length)));
      if (sentAt[n] === undefined) return;
      delays.push(now - sentAt[n]!);
      const field = frame.indexOf(atMarker);
      const decided = field < 0 ? NaN : Date.parse(frame.toString('latin1', field + atMarker.length, frame.indexOf(0x22, field + atMarker.length)));
      if (Number.isNaN(decided)) return;
      split.toDecision.push(decided - (performance.timeOrigin + sentAt[n]!));
      split.afterDecision.push(performance.timeOrigin + now - decided);
    });
    await writeAtRate(a.port, RATE, 2, (n) => `warm:${n}`); // warm-up, not measured
    const seconds = Math.max(5, ctx.seconds);
    // The consumer runs on A; what the websocket waits for is B's copy.
    const before = await Promise.all([readHops([a.url]), readHops([b.url])]);
    const result = await writeAtRate(a.port, RATE, seconds, (n) => `${PREFIX}${n}`, { onSent: (n, at) => (sentAt[n] = at) });
    await sleep(1000);
    const after = await Promise.all([readHops([a.url]), readHops([b.url])]);
    const onB = hopsBetween(before[1], after[1]);
    const hops = { ...hopsBetween(before[0], after[0]), visibleMeanMs: onB.visibleMeanMs, visibleP99Ms: onB.visibleP99Ms };
    socket.close();
    // The same run's floor: the broker alone, one hop at the same rate (a write crosses two).
    const hop = await brokerHop(AMQP_URL, `${deployment.name}.hop`, RATE, seconds);
    // And the contract's whole write path with no HTTP and no driftkv code, at the same rate.
    const bare = await bareWritePath(ctx.bareWritePath, deployment, { rate: RATE }, seconds);
    delays.sort((x, y) => x - y);
    const p = (q: number) => round(percentile(delays, q), 2);
    const p99 = percentile(delays, 0.99);
    const parts = describeSplit(split);
    ctx.log(
      `propagation: ${delays.length}/${result.sent} received, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms; broker alone p50 ${hop.p50} ms, p99 ${hop.p99} ms; ` +
        `the write path alone p50 ${bare.p50} ms, p99 ${bare.p99} ms`,
    );
    return {
      scenario: 'propagation',
      rows: [
        {
          what: `propagation A -> websocket on B at ${RATE} writes/s`,
          driftkv:
            `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms (${delays.length}/${result.sent} received); ` +
            `split at the consumer's decision: ${parts.text}; ` +
            describeHops(hops, ' on B'),
          baseline:
            `RabbitMQ alone, one quorum-queue hop at ${RATE}/s: p50 ${hop.p50} ms, p99 ${hop.p99} ms, max ${hop.max} ms (${hop.received} received); ` +
            `the contract's write path alone (quorum queue, one statement per batch, the fanout; no HTTP, no websocket, no driftkv code) at ${RATE}/s, publish to event: ${describeBare(bare)}`,
          ratio: hop.p99 > 0 ? round(p99 / hop.p99) : null,
          target: 'p99 <= 10 ms',
          met: p99 <= 10 && delays.length === result.sent && result.failed === 0,
        },
      ],
      detail: { rate: RATE, seconds, sent: result.sent, failed: result.failed, received: delays.length, p50: p(0.5), p90: p(0.9), p99: p(0.99), max: p(1), split: parts.figures, ...hops, brokerHop: hop, writePathAlone: bare },
    };
  } finally {
    await deployment.destroy();
  }
}

/**
 * Percentiles of each side of the decision. `at` has millisecond resolution, so each side is known
 * to within 1 ms (the first side reads up to 1 ms short, the second as much long).
 */
function describeSplit(split: { toDecision: number[]; afterDecision: number[] }) {
  const figures = Object.fromEntries(
    Object.entries(split).map(([side, values]) => {
      const sorted = values.slice().sort((x, y) => x - y);
      return [side, { p50: round(percentile(sorted, 0.5), 1), p99: round(percentile(sorted, 0.99), 1) }];
    }),
  ) as Record<keyof typeof split, { p50: number; p99: number }>;
  const { toDecision: d, afterDecision: a } = figures;
  return { figures, text: `sent to decided p50 ${d.p50} ms, p99 ${d.p99} ms; decided to received on B p50 ${a.p50} ms, p99 ${a.p99} ms` };
}
