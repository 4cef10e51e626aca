import { Deployment, waitReady } from '../lib/driftkv.js';
import type { Context, ScenarioResult } from '../lib/context.js';
import { cpuSeconds } from '../lib/process.js';
import { round, sleep } from '../lib/stats.js';
import { openSocket, type RawSocket } from '../lib/ws-client.js';
import { writeAtRate } from '../lib/writer.js';

const SOCKETS = 1000;
const RATE = 200;
const PREFIX = 'fan:';

/** Scenario 6: a thousand /events sockets on one instance, changes at a fixed 200/s: delivered frames and drops. */
export async function fanoutScenario(ctx: Context): Promise<ScenarioResult> {
  const deployment = new Deployment(ctx.main);
  try {
    const instance = await deployment.start({ INSTANCE_ID: 'driftkv-a' }, ctx.nodeArgs);
    await waitReady(instance.url);
    const marker = Buffer.from(`{"type":"value.put","key":"${PREFIX}`);
    const counts = new Array<number>(SOCKETS).fill(0);
    const sockets: RawSocket[] = [];
    for (let i = 0; i < SOCKETS; i++) {
      // Every socket counts the changes it receives; connection events of the others are not counted.
      sockets.push(await openSocket(instance.port, '/events', (frame) => frame.subarray(0, marker.length).equals(marker) && counts[i]!++));
    }
    await sleep(2000); // the connection.opened announcements of a thousand sockets settle
    const seconds = Math.max(5, ctx.seconds);
    const cpu0 = cpuSeconds(instance.pid);
    const started = performance.now();
    const writes = await writeAtRate(instance.port, RATE, seconds, (n) => `${PREFIX}${n}`, { async: true });
    await sleep(2000); // the last changes reach every socket
    const elapsed = (performance.now() - started) / 1000;
    const cpu = Math.round(((cpuSeconds(instance.pid) - cpu0) / elapsed) * 100);
    const closed = sockets.filter((s) => s.closed).length;
    for (const s of sockets) s.close();
    const delivered = counts.reduce((n, c) => n + c, 0);
    const expected = writes.sent * SOCKETS;
    const drops = expected - delivered;
    ctx.log(`fan-out: ${delivered}/${expected} delivered, ${closed} sockets closed, instance cpu ${cpu}%`);
    return {
      scenario: 'fanout',
      rows: [
        {
          what: `fan-out, ${SOCKETS} sockets x ${RATE} changes/s`,
          driftkv: `${Math.round(delivered / seconds)} frames/s delivered, ${drops} dropped, ${closed} sockets closed, instance CPU ${cpu}%`,
          baseline: `${SOCKETS * RATE} frames/s offered`,
          ratio: round(delivered / expected, 3),
          target: 'zero drops',
          met: drops === 0 && closed === 0 && writes.failed === 0,
        },
      ],
      detail: { sockets: SOCKETS, rate: RATE, seconds, writes, delivered, expected, closed, instanceCpuPercent: cpu },
    };
  } finally {
    await deployment.destroy();
  }
}
