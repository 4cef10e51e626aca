import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commitBatch } from '../../src/consumer/commit-batch.js';
import type { Command } from '../../src/domain/commands.js';
import { migratedStore, type Cluster } from './cluster.js';

const ROWS = 100_000;

/** Rows read by sequential scans, and index scans, of one table since it was created. */
async function scans(cluster: Cluster, table: string): Promise<{ seqRows: number; idx: number }> {
  const [row] = await cluster.sql<{ seq_rows: string; idx: string }[]>`
    select seq_tup_read as seq_rows, coalesce(idx_scan, 0) as idx from pg_stat_user_tables where schemaname = ${cluster.name} and relname = ${table}`;
  return { seqRows: Number(row!.seq_rows), idx: Number(row!.idx) };
}

function puts(n: number, tag: string): Command[] {
  return Array.from({ length: n }, (_, i) => ({ type: 'PutValue', commandId: `${tag}-${i}`, key: `k:${tag}:${i}`, value: 'v', precondition: undefined }) as Command);
}

function deletes(keys: string[], tag: string): Command[] {
  return keys.map((key, i) => ({ type: 'DeleteValue', commandId: `${tag}-del-${i}`, key, precondition: undefined }) as Command);
}

/**
 * The consumer's statements are prepared once per connection. With a plan made once for all while
 * the tables were small (a sequential scan), they went on reading them whole as they grew: in the
 * PUT benchmark the consumer's backend spent 60% of a core on it and writes ran at a third of the rate.
 */
test('batch reads and writes use the indexes once the tables have grown, after being planned while they were small', async () => {
  const { cluster, store } = await migratedStore();
  const bulk = (from: number, to: number) => [
    cluster.sql`insert into kv_values (key, value, revision) select 'bulk:' || i, 'v', i from generate_series(${from}::int, ${to}::int) i`,
    cluster.sql`insert into kv_outcomes (command_id, key, status, revision) select 'bulk-' || i, 'bulk:' || i, 'applied', i from generate_series(${from}::int, ${to}::int) i`,
  ];
  // Small tables, known to be small: planned now, a read of a few rows is cheapest as a scan.
  await Promise.all(bulk(1, 200));
  await cluster.sql`analyze kv_values`;
  await cluster.sql`analyze kv_outcomes`;
  // Batches with deletes and without (the store may write those two kinds differently).
  for (let i = 0; i < 12; i++) await commitBatch(store, [...puts(3, `small${i}`), ...(i % 2 ? deletes([`bulk:${i + 1}`], `small${i}`) : [])], new Date());
  await Promise.all(bulk(201, ROWS));
  const BATCHES = 10;
  const SIZE = 20;
  for (let i = 0; i < BATCHES; i++) {
    await commitBatch(store, [...puts(SIZE, `large${i}`), ...(i % 2 ? deletes([`bulk:${1000 + i}`, `bulk:${90_000 + i}`], `large${i}`) : [])], new Date());
  }
  // Statistics reach the shared counters when the store's backend flushes them (about a second
  // after it goes idle): wait until the large batches' reads show up, one way or the other.
  const read = async () => ({ values: await scans(cluster, 'kv_values'), outcomes: await scans(cluster, 'kv_outcomes') });
  let now = await read();
  for (let waited = 0; waited < 20_000; waited += 250) {
    const wholeRead = now.values.seqRows >= ROWS || now.outcomes.seqRows >= ROWS;
    if (wholeRead || (now.values.idx >= BATCHES * SIZE && now.outcomes.idx >= BATCHES * SIZE)) break;
    await new Promise((r) => setTimeout(r, 250));
    now = await read();
  }
  assert.ok(now.values.seqRows < ROWS, `kv_values was read whole: ${JSON.stringify(now)}`);
  assert.ok(now.outcomes.seqRows < ROWS, `kv_outcomes was read whole: ${JSON.stringify(now)}`);
  assert.ok(now.values.idx >= BATCHES * SIZE && now.outcomes.idx >= BATCHES * SIZE, `the batch reads went through the indexes: ${JSON.stringify(now)}`);
});
