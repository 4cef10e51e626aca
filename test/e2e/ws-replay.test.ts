import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { startEmbeddedDatabase } from '../../src/store/pglite-server.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { call } from '../support/http.js';
import { startInstance, tempDataDir, type Instance } from '../support/instance.js';
import { inParallel, openEvents, range, revisions } from './ws-client.js';

const dataDir = tempDataDir();
let instance: Instance;
after(async () => {
  await instance?.stop();
});

const put = async (key: string, value: string) => (await call(`${instance.url}/values/${encodeURIComponent(key)}`, { method: 'PUT', body: value })).json;

/** The service's own pruning, run while the instance is down (it holds the embedded database). */
async function prune(retain: number): Promise<void> {
  const db = await startEmbeddedDatabase(dataDir);
  const store = new PostgresStore({ socketPath: db.socketPath, schema: 'public', maxConnections: 1 });
  try {
    await store.prune(retain, 3_600_000);
  } finally {
    await store.close();
    await db.close();
  }
}

test('after a restart (empty ring) since replays from the change log, seamlessly, while writes go on', async () => {
  instance = await startInstance({ DATA_DIR: dataDir });
  // More than one page of the log (1000), so the replay spans several reads while writes go on.
  await inParallel(1500, 8, (i) => put(`log/${i % 20}`, String(i)));
  await instance.stop();
  instance = await startInstance({ DATA_DIR: dataDir});

  let writing = true;
  let last = 1500;
  let started!: () => void;
  const firstWrite = new Promise<void>((resolve) => (started = resolve));
  const writer = (async () => {
    for (let i = 0; writing || i < 30; i++) {
      last = (await put(`live/${i % 5}`, String(i))).revision;
      started();
    }
  })();
  await firstWrite;
  const client = await openEvents(instance.url, '?since=0');
  await new Promise((r) => setTimeout(r, 200));
  writing = false;
  await writer;
  await client.until(() => client.changes().at(-1)?.revision === last);
  assert.ok(client.frames[0]!.revision > 1500 && last > client.frames[0]!.revision, 'writes ran before and after the socket opened');
  assert.deepEqual(revisions(client.changes()), range(1, last));
  assert.equal(client.changes()[0]!.key.startsWith('log/'), true);
  client.close();
});

test('since older than the pruned change log: reset with the current revision, then live', async () => {
  await instance.stop();
  await prune(10);
  instance = await startInstance({ DATA_DIR: dataDir});
  const head = Number((await call(`${instance.url}/healthz`)).headers.get('x-revision'));

  const old = await openEvents(instance.url, '?since=5');
  const reset = await old.next((f) => f.type === 'reset');
  assert.equal(reset.revision, head);
  assert.deepEqual(Object.keys(reset).sort(), ['revision', 'type']);
  assert.equal(old.changes().length, 0);

  const recent = await openEvents(instance.url, `?since=${head - 5}`);
  await recent.until(() => recent.changes().length === 5);
  assert.deepEqual(revisions(recent.changes()), range(head - 4, head));
  assert.equal(recent.frames.some((f) => f.type === 'reset'), false);

  const answer = await put('after/reset', 'x');
  await old.next((f) => f.revision === answer.revision);
  assert.deepEqual(revisions(old.changes()), [head + 1]);
  old.close();
  recent.close();
});

test('since beyond anything the store ever held: reset', async () => {
  const client = await openEvents(instance.url, '?since=999999999');
  const reset = await client.next((f) => f.type === 'reset');
  assert.equal(reset.revision, Number((await call(`${instance.url}/healthz`)).headers.get('x-revision')));
  client.close();
});

test('graceful stop: sockets are closed with 1001, the process exits 0 without errors', async () => {
  const a = await openEvents(instance.url);
  const b = await openEvents(instance.url, '?since=0');
  await a.next((f) => f.type === 'hello');
  const stopped = await instance.stop();
  assert.equal(stopped.code, 0);
  assert.equal((await a.closed).code, 1001);
  assert.equal((await b.closed).code, 1001);
  const errors = instance.output.filter((line) => /"level":(50|60)/.test(line));
  assert.deepEqual(errors, []);
  instance = undefined as never;
});
