import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Whether nothing listens on host:port. The probe binds without SO_REUSEPORT, so it also fails
 * when a uWebSockets.js process (which sets it) holds the port: binding there ourselves would
 * silently share that process's traffic.
 */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Free ports below the kernel's ephemeral range: other processes' port-0 binds (every test on a
 * shared machine) never land there, so a replica that restarts on its port does not meet a stranger.
 */
export async function pickFreePorts(count: number, host: string, avoid: ReadonlySet<number> = new Set()): Promise<number[]> {
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralRangeStart() - 1);
  const picked: number[] = [];
  for (let attempt = 0; picked.length < count && attempt < 1000; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (avoid.has(port) || picked.includes(port)) continue;
    if (await isPortFree(port, host)) picked.push(port);
  }
  if (picked.length < count) throw new Error(`found only ${picked.length} free ports of ${count} between ${low} and ${high}`);
  return picked;
}

function ephemeralRangeStart(): number {
  try {
    const [start] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    return Number(start) || 32768;
  } catch {
    return 32768;
  }
}
