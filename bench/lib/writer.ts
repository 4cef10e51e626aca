import { Agent, request } from 'node:http';
import { onSchedule } from './schedule.js';

/**
 * Open-loop writes at a fixed rate: each tick sends what the schedule says is due, whatever the
 * answers, so a slow service shows up as latency instead of a lower rate (no coordinated omission).
 */
export async function writeAtRate(
  port: number,
  rate: number,
  seconds: number,
  keyOf: (n: number) => string,
  options: { async?: boolean; onSent?: (n: number, at: number) => void } = {},
): Promise<{ sent: number; failed: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const body = 'w'.repeat(100);
  const headers: Record<string, string | number> = { 'content-length': body.length, ...(options.async ? { prefer: 'respond-async' } : {}) };
  let failed = 0;
  const answers: Promise<void>[] = [];
  const sent = await onSchedule(rate, seconds, (n) => {
    options.onSent?.(n, performance.now());
    answers.push(
      new Promise<void>((done) => {
        const req = request({ host: '127.0.0.1', port, method: 'PUT', path: `/values/${encodeURIComponent(keyOf(n))}`, agent, headers }, (res) => {
          if (res.statusCode !== 200 && res.statusCode !== 202) failed++;
          res.resume();
          res.on('end', done);
        });
        req.on('error', () => {
          failed++;
          done();
        });
        req.end(body);
      }),
    );
  });
  await Promise.all(answers);
  agent.destroy();
  return { sent, failed };
}
