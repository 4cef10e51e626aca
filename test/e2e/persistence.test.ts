import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call } from '../support/http.js';
import { startInstance, tempDataDir, type Instance } from '../support/instance.js';

// One data directory goes through a graceful restart, then a kill -9 in the middle of a burst.
const dataDir = tempDataDir();
let instance: Instance | undefined;

after(async () => {
  await instance?.kill();
});

test('graceful restart: SIGTERM exits 0 within 5 s and every write is still there', async () => {
  instance = await startInstance({ DATA_DIR: dataDir });
  const written = new Map<string, string>();
  for (let i = 0; i < 20; i++) {
    const key = `graceful/${i}`;
    const answer = await call(`${instance.url}/values/${key}`, { method: 'PUT', body: `value ${i} é😀` });
    assert.equal(answer.status, 200);
    written.set(key, `value ${i} é😀`);
  }
  assert.equal((await call(`${instance.url}/values/graceful/3`, { method: 'DELETE' })).json.message, '1');
  written.delete('graceful/3');
  const revision = Number((await call(`${instance.url}/healthz`)).headers.get('x-revision'));

  const { code, ms } = await instance.stop();
  assert.equal(code, 0);
  assert.ok(ms < 5000, `SIGTERM took ${ms} ms`);

  instance = await startInstance({ DATA_DIR: dataDir });
  const listed = await call(`${instance.url}/values?prefix=graceful%2F&limit=1000`);
  assert.equal(listed.json.revision, revision, 'the revision sequence survives the restart');
  assert.deepEqual(new Map(listed.json.items.map((i: { key: string; value: string }) => [i.key, i.value])), written);
  const next = await call(`${instance.url}/values/graceful/after`, { method: 'PUT', body: 'x' });
  assert.equal(next.json.revision, revision + 1, 'revisions continue where they stopped');
});

interface Op {
  readonly kind: 'put' | 'delete';
  readonly value?: string;
  acknowledged: boolean;
}

test('kill -9 during a concurrent burst: every acknowledged write survives', async () => {
  assert.ok(instance, 'runs after the graceful restart, on the same data directory');
  const workers = 30;
  const opsPerWorker = 10;
  const killAfter = 120;
  // Each worker owns its keys and waits for each answer, so per key the order of writes is known:
  // after the restart a key must hold its last acknowledged write or the one in flight after it.
  const history = new Map<string, Op[]>();
  let acknowledged = 0;
  let killed: Promise<void> | undefined;
  const victim = instance;

  const worker = async (w: number): Promise<void> => {
    for (let i = 0; i < opsPerWorker; i++) {
      const key = `burst/${w}/${i % 3}`;
      const op: Op = i % 4 === 3 ? { kind: 'delete', acknowledged: false } : { kind: 'put', value: `w${w}-op${i}`, acknowledged: false };
      const ops = history.get(key) ?? [];
      ops.push(op);
      history.set(key, ops);
      try {
        const answer = await call(`${victim.url}/values/${key}`, op.kind === 'put' ? { method: 'PUT', body: op.value } : { method: 'DELETE' });
        if (answer.status !== 200) return;
        op.acknowledged = true;
      } catch {
        return; // the process is gone
      }
      if (++acknowledged === killAfter) killed = victim.kill();
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  await (killed ?? victim.kill());
  assert.ok(acknowledged >= killAfter, `only ${acknowledged} writes were acknowledged before the burst ended`);
  assert.ok(acknowledged < workers * opsPerWorker, 'the kill landed in the middle of the burst');

  instance = await startInstance({ DATA_DIR: dataDir });
  const listed = await call(`${instance.url}/values?prefix=burst%2F&limit=1000`);
  const stored = new Map<string, string>(listed.json.items.map((i: { key: string; value: string }) => [i.key, i.value]));
  let checked = 0;
  for (const [key, ops] of history) {
    const last = ops.findLastIndex((op) => op.acknowledged);
    if (last < 0) continue;
    const allowed = ops.slice(last, last + 2).map((op) => (op.kind === 'put' ? op.value : undefined));
    assert.ok(allowed.includes(stored.get(key)), `${key}: found ${JSON.stringify(stored.get(key))}, expected one of ${JSON.stringify(allowed)}`);
    checked++;
  }
  assert.ok(checked > 0);
  for (const key of stored.keys()) assert.ok(history.has(key), `${key} was never written`);

  const { code, ms } = await instance.stop();
  assert.equal(code, 0, 'a data directory recovered from kill -9 still shuts down cleanly');
  assert.ok(ms < 5000, `SIGTERM took ${ms} ms`);
  instance = undefined;
});
