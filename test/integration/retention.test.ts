import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call } from '../support/http.js';
import { appliedRevision, assertConsecutive, Cluster, snapshot, waitFor, waitForConvergence } from './cluster.js';

const cluster = new Cluster({ CHANGELOG_RETAIN: '5', OUTCOME_RETAIN_MS: '1000', RESYNC_INTERVAL_MS: '1000' });
after(() => cluster.destroy());

const compacted = async () => Number((await cluster.sql<{ compacted: string }[]>`select compacted from kv_head`)[0]!.compacted);

test('the change log keeps the newest CHANGELOG_RETAIN changes; an instance behind the compaction point reloads its snapshot', { timeout: 180_000 }, async () => {
  const consumer = await cluster.start();
  const behind = await cluster.start({ CONSUMER: 'off' });
  for (let i = 0; i < 3; i++) assert.equal((await call(`${consumer.url}/values/early${i}`, { method: 'PUT', body: `e${i}` })).status, 200);
  await waitFor('the second instance to apply the early writes', () => appliedRevision(behind), (r) => r === 3);
  const outputBefore = behind.output.length;

  behind.process.kill('SIGSTOP');
  let written = 0;
  try {
    // Pruning runs after a batch at most every 30 s: keep writing until it has passed the stopped instance.
    await waitFor(
      'the log to be compacted past the stopped instance',
      async () => {
        assert.equal((await call(`${consumer.url}/values/late${written % 7}`, { method: 'PUT', body: `l${written}` })).status, 200);
        written++;
        await new Promise((r) => setTimeout(r, 500));
        return compacted();
      },
      (c) => c > 3,
      120_000,
    );
  } finally {
    behind.process.kill('SIGCONT');
  }

  const stored = await waitForConvergence(cluster, [consumer, behind], 90_000);
  const head = await cluster.head();
  assert.ok(behind.output.slice(outputBefore).some((l) => l.includes('change log compacted past this instance')), 'the stopped instance reloaded its snapshot');
  assert.deepEqual((await snapshot(behind)).entries, stored);

  const log = await cluster.changeLog();
  const floor = await compacted();
  assert.ok(log.length <= head - floor && log.length < head, `the log was pruned: ${log.length} of ${head} changes kept`);
  assert.equal(assertConsecutive(log.map((c) => c.revision), floor + 1), undefined, 'what is kept is consecutive from the compaction point');
  const [outcomes] = await cluster.sql<{ n: string }[]>`select count(*) as n from kv_outcomes`;
  assert.ok(Number(outcomes!.n) < head, 'old outcomes were pruned');
});
