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
    const marker = Buffer.from(`"key":"${PREFIX}`);
    const socket = await openSocket(b.port, `/events?prefix=${PREFIX}`, (frame) => {
      const now = performance.now();
      const at = frame.indexOf(marker);
      if (at < 0) return;
      const n = Number(frame.toString('latin1', at + marker.length, frame.indexOf(0x22, at + marker.length)));
      if (sentAt[n] !== undefined) delays.push(now - sentAt[n]!);
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
    delays.sort((x, y) => x - y);
    const p = (q: number) => round(percentile(delays, q), 2);
    const p99 = percentile(delays, 0.99);
    ctx.log(`propagation: ${delays.length}/${result.sent} received, p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms; broker alone p50 ${hop.p50} ms, p99 ${hop.p99} ms`);
    return {
      scenario: 'propagation',
      rows: [
        {
          what: `propagation A -> websocket on B at ${RATE} writes/s`,
          driftkv:
            `p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms (${delays.length}/${result.sent} received); ` +
            describeHops(hops, ' on B'),
          baseline: `RabbitMQ alone, one quorum-queue hop at ${RATE}/s: p50 ${hop.p50} ms, p99 ${hop.p99} ms, max ${hop.max} ms (${hop.received} received)`,
          ratio: hop.p99 > 0 ? round(p99 / hop.p99) : null,
          target: 'p99 <= 10 ms',
          met: p99 <= 10 && delays.length === result.sent && result.failed === 0,
        },
      ],
      detail: { rate: RATE, seconds, sent: result.sent, failed: result.failed, received: delays.length, p50: p(0.5), p90: p(0.9), p99: p(0.99), max: p(1), ...hops, brokerHop: hop },
    };
  } finally {
    await deployment.destroy();
  }
}
