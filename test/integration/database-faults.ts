import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Instance } from '../support/instance.js';
import type { Cluster } from './cluster.js';

const run = promisify(execFile);

/** The PostgreSQL backends serving one instance: matched by its client ports, not by application_name (other suites share the server). */
export async function backendsOf(cluster: Cluster, instance: Instance): Promise<number[]> {
  const { stdout } = await run('ss', ['-tnpH', 'state', 'established', '( dport = :5432 )']);
  const ports = stdout
    .split('\n')
    .filter((line) => line.includes(`pid=${instance.process.pid},`))
    .map((line) => Number(line.trim().split(/\s+/)[2]!.split(':').pop()));
  if (ports.length === 0) return [];
  const rows = await cluster.sql<{ pid: number }[]>`
    select pid from pg_stat_activity where application_name = 'driftkv' and client_port = any(${ports}::int[])`;
  return rows.map((r) => r.pid);
}

/**
 * Holds the head row lock from the test, so that the consumer's next batch write waits for it
 * inside its statement; `blocked` lists the backends waiting on it, directly or queued behind another
 * waiter (necessarily this cluster's).
 */
export async function holdHeadLock(cluster: Cluster) {
  const connection = await cluster.sql.reserve();
  await connection`begin`;
  await connection`select revision from kv_head where id = 1 for update`;
  const [row] = await connection<{ pid: number }[]>`select pg_backend_pid() as pid`;
  const pid = row!.pid;
  return {
    async blocked(): Promise<number[]> {
      const rows = await cluster.sql<{ pid: number; blockers: number[] }[]>`
        select pid, pg_blocking_pids(pid) as blockers from pg_stat_activity where cardinality(pg_blocking_pids(pid)) > 0`;
      const waiting = new Set<number>();
      for (let grew = true; grew; ) {
        grew = false;
        for (const r of rows) {
          if (waiting.has(r.pid) || !r.blockers.some((b) => b === pid || waiting.has(b))) continue;
          waiting.add(r.pid);
          grew = true;
        }
      }
      return [...waiting];
    },
    async release(): Promise<void> {
      await connection`commit`;
      connection.release();
    },
  };
}
