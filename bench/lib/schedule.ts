/**
 * Calls `send(n)` for n = 0 … rate × seconds − 1 on a 1-ms schedule: each tick sends what is due
 * by then, whatever happened to what was sent before (an open loop: a slow receiver shows up as
 * latency, not as a lower rate, so there is no coordinated omission). Resolves when all were sent.
 */
export async function onSchedule(rate: number, seconds: number, send: (n: number) => void): Promise<number> {
  const total = Math.round(rate * seconds);
  const started = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate));
    for (; sent < due; sent++) send(sent);
    await new Promise((r) => setTimeout(r, 1));
  }
  return sent;
}
