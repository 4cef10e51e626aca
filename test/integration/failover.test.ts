import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import type { Instance } from '../support/instance.js';
import { activeConsumer, assertConsecutive, Cluster, snapshot, waitForConvergence } from './cluster.js';
import { putAll, type Written } from './load.js';

const cluster = new Cluster({ WRITE_TIMEOUT_MS: '20000' });
after(() => cluster.destroy());

test('kill -9 of the active consumer in a write burst: the other takes over, nothing acknowledged is lost or doubled', async (t) => {
  const first = await cluster.start();
  const second = await cluster.start();
  const active = await activeConsumer([first, second]);
  const survivor = active === first ? second : first;

  let acknowledged = 0;
  let killed: Promise<void> | undefined;
  const writes = Array.from({ length: 600 }, (_, i) => ({ key: `burst/${i}`, value: `v${i}`, url: i % 2 === 0 ? survivor.url : active.url }));
  const results = await putAll(writes, 12, (w: Written) => {
    if (w.status === 200 && ++acknowledged === 150) killed = active.kill();
  });
  await killed;
  assert.ok(killed, 'the kill happened during the burst');
  assert.equal(active.process.exitCode, null);
  assert.equal(active.process.signalCode, 'SIGKILL');

  // 200: applied and visible; 202: durable, not visible yet. Both are promises to the client.
  const promised = results.filter((r) => r.status === 200 || r.status === 202);
  const survivorPromised = promised.filter((r) => r.url === survivor.url);
  assert.equal(survivorPromised.length, writes.length / 2, 'every write through the survivor is acknowledged');

  const statuses = results.reduce<Record<number, number>>((m, r) => ({ ...m, [r.status]: (m[r.status] ?? 0) + 1 }), {});
  t.diagnostic(`answers by status (0 = connection lost): ${JSON.stringify(statuses)}`);
  const restarted = await cluster.start();
  const stored = await waitForConvergence(cluster, [survivor, restarted], 90_000);
  for (const w of promised) {
    const entry = stored.get(w.key);
    assert.equal(entry?.value, w.value, `acknowledged write ${w.key} is stored`);
    if (w.status === 200) assert.equal(entry!.revision, w.revision);
  }
  const log = await cluster.changeLog();
  assert.equal(assertConsecutive(log.map((c) => c.revision)), undefined);
  assert.equal(new Set(log.map((c) => c.commandId)).size, log.length, 'no command applied twice');
  const burstKeys = log.filter((c) => c.key.startsWith('burst/')).map((c) => c.key);
  assert.equal(new Set(burstKeys).size, burstKeys.length, 'no burst key written twice');

  const [onSurvivor, onRestarted] = await Promise.all([snapshot(survivor), snapshot(restarted)]);
  assert.deepEqual(onRestarted.entries, onSurvivor.entries);
});
