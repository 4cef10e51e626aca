import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Sql } from 'postgres';
import { LOAD_CPU, exec } from './process.js';

/**
 * pgbench running a single-row INSERT … ON CONFLICT DO UPDATE of a 100-byte value into a scratch
 * table of the deployment's schema (dropped with it), at the same concurrency as the PUT bench.
 */
export async function pgbenchUpsert(sql: Sql, schema: string, clients: number, seconds: number, keys: number): Promise<{ tps: number; latencyMs: number }> {
  await sql.unsafe(`create schema if not exists "${schema}"; create table if not exists "${schema}".pgbench_upsert (key text collate "C" primary key, value text not null, revision bigint not null)`);
  const script = join(tmpdir(), `${schema}.pgbench.sql`);
  writeFileSync(
    script,
    `\\set k random(1, ${keys})\n` +
      `insert into "${schema}".pgbench_upsert (key, value, revision) values ('put:' || lpad(:k::text, 8, '0'), '${'p'.repeat(100)}', 1) ` +
      `on conflict (key) do update set value = excluded.value, revision = "${schema}".pgbench_upsert.revision + 1;\n`,
  );
  const { stdout } = await exec(
    'taskset',
    ['-c', LOAD_CPU, 'pgbench', '-n', '-h', '127.0.0.1', '-U', 'postgres', '-c', String(clients), '-j', '1', '-T', String(seconds), '-f', script, 'test'],
    { timeout: (seconds + 120) * 1000 },
  );
  const tps = Number(stdout.match(/^tps = ([\d.]+)/m)?.[1]);
  const latencyMs = Number(stdout.match(/^latency average = ([\d.]+) ms/m)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return { tps, latencyMs };
}
