import { readFileSync, readdirSync } from 'node:fs';
import { connect } from 'node:net';
import type { FuzzCase } from './fuzz-requests.js';

export interface CaseResult {
  /** Status codes of the responses seen on the connection (pipelining: several). */
  readonly statuses: number[];
  readonly sent: number;
}

/** How long a lingering client waits after its last byte before it hangs up. */
const LINGER_MS = 300;

/** Plays one case on its own connection; never rejects (a reset or a refusal is an outcome too). */
export function playCase(port: number, fuzz: FuzzCase, timeoutMs = 5_000): Promise<CaseResult> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let sent = 0;
    let lingering: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      clearTimeout(lingering);
      socket.destroy();
      const text = Buffer.concat(received).toString('latin1');
      resolve({ statuses: [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])), sent });
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('data', (chunk) => {
      received.push(chunk);
      if (fuzz.leave === 'linger') {
        clearTimeout(lingering);
        lingering = setTimeout(finish, LINGER_MS);
      }
    });
    socket.on('error', () => {});
    socket.on('close', finish);
    socket.on('connect', async () => {
      for (const write of fuzz.writes) {
        if (socket.destroyed) return;
        sent += write.length;
        if (!socket.write(write)) await new Promise((r) => socket.once('drain', r).once('close', r));
        if (fuzz.writes.length > 1) await new Promise((r) => setImmediate(r));
      }
      if (fuzz.leave === 'end') socket.end();
      else if (fuzz.leave === 'truncate') finish();
      else lingering = setTimeout(finish, LINGER_MS);
    });
  });
}

/** Resident memory of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return Math.round(kb / 102.4) / 10;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
