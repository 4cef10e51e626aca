import { join } from 'node:path';
import { serviceNodeFlags } from '../start-command.js';
import { isPortFree, pickFreePorts } from './ports.js';
import type { Launch, ProcessSpec } from './supervisor.js';

const REPLICA_HOST = '127.0.0.1';

export interface ReplicaSet {
  readonly root: string;
  /** Current port of each replica, by index; nginx's upstreams are written from it. */
  readonly ports: number[];
  readonly startTimeoutMs: number;
  /** A replica had to move: its old port was taken while it was down. */
  onMoved(index: number, port: number): void;
}

export const replicaName = (index: number): string => `replica-${index + 1}`;

export function replicaSpec(set: ReplicaSet, index: number): ProcessSpec {
  const name = replicaName(index);
  return {
    name,
    stopSignal: 'SIGTERM',
    async prepare(): Promise<Launch> {
      // uWS binds with SO_REUSEPORT: restarting onto a port someone took meanwhile would share their traffic.
      if (!(await isPortFree(set.ports[index]!, REPLICA_HOST))) {
        const [port] = await pickFreePorts(1, REPLICA_HOST, new Set(set.ports));
        set.ports[index] = port!;
        set.onMoved(index, port!);
      }
      const env = { ...process.env, SERVER_PORT: String(set.ports[index]), SERVER_HOST: REPLICA_HOST, INSTANCE_ID: name };
      return { command: process.execPath, args: [...serviceNodeFlags(set.root), join(set.root, 'dist/src/main.js')], env };
    },
    // Polled rather than read from the log: the "listening" line is not printed at LOG_LEVEL=warn.
    untilUp() {
      return waitReady(`http://${REPLICA_HOST}:${set.ports[index]}/readyz`, set.startTimeoutMs);
    },
  };
}

/** A replica listens once its snapshot is loaded; /readyz also says its buses are connected. */
async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(url, { signal: AbortSignal.timeout(5000) }).then((r) => r.status, () => 0);
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} answered ${status || 'nothing'} for ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
