import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { inParallel, openEvents, range, refusedUpgrade, revisions } from './ws-client.js';

let instance: Instance;
before(async () => {
  instance = await startInstance();
});
after(async () => {
  await instance.stop();
});

const put = async (key: string, value: string) => (await call(`${instance.url}/values/${encodeURIComponent(key)}`, { method: 'PUT', body: value })).json;

test('hello names the instance and its revision, then connection.opened crosses the event bus', async () => {
  await put('hello/before', 'x');
  const head = await call(`${instance.url}/healthz`);
  const client = await openEvents(instance.url);
  const hello = await client.next((f) => f.type === 'hello');
  assert.equal(client.frames[0]!.type, 'hello');
  assert.equal(hello.instance, head.headers.get('x-instance'));
  assert.equal(hello.revision, Number(head.headers.get('x-revision')));
  const opened = await client.next((f) => f.type === 'connection.opened' && f.connection === hello.connection);
  assert.deepEqual(Object.keys(opened).sort(), ['at', 'connection', 'instance', 'type']);
  assert.equal(opened.instance, hello.instance);
  client.close();
});

test('a burst of concurrent writes arrives once each, in revision order, without gaps', async () => {
  const client = await openEvents(instance.url);
  const hello = await client.next((f) => f.type === 'hello');
  const written = new Map<number, string>();
  await inParallel(200, 16, async (i) => {
    const answer = await put(`burst/${i}`, `v${i}`);
    written.set(answer.revision, `burst/${i}`);
  });
  await client.until(() => client.changes().length >= 200);
  const changes = client.changes();
  assert.deepEqual(revisions(changes), range(hello.revision + 1, hello.revision + 200));
  for (const change of changes) {
    assert.equal(change.type, 'value.put');
    assert.equal(change.key, written.get(change.revision));
    assert.equal(change.value, `v${String(change.key).slice('burst/'.length)}`);
    assert.deepEqual(Object.keys(change).sort(), ['at', 'commandId', 'key', 'revision', 'type', 'value']);
  }
  client.close();
});

test('since replays from memory and joins the live stream exactly at the seam while writes go on', async () => {
  const first = await put('seam/start', '0');
  let writing = true;
  let last = first.revision;
  const writer = (async () => {
    for (let i = 0; writing || i < 50; i++) last = (await put(`seam/${i % 7}`, String(i))).revision;
  })();
  await new Promise((r) => setTimeout(r, 100));
  const client = await openEvents(instance.url, `?since=${first.revision}`);
  await new Promise((r) => setTimeout(r, 200));
  writing = false;
  await writer;
  await client.until(() => client.changes().at(-1)?.revision === last);
  const hello = client.frames[0]!;
  assert.ok(hello.revision > first.revision && last > hello.revision, 'the socket opened in the middle of the writes');
  assert.deepEqual(revisions(client.changes()), range(first.revision + 1, last));
  client.close();
});

test('prefix: each socket sees only its keys, several prefixes at once', async () => {
  const sockets = await Promise.all(['?prefix=fruit%2F', '?prefix=veg%2F', ''].map((q) => openEvents(instance.url, q)));
  await Promise.all(sockets.map((s) => s.next((f) => f.type === 'hello')));
  const keys = ['fruit/apple', 'veg/leek', 'fruit/pear', 'fruitcake', 'veg/kale', 'other'];
  for (const key of keys) await put(key, key.toUpperCase());
  await call(`${instance.url}/values/fruit%2Fapple`, { method: 'DELETE' });
  const [fruit, veg, all] = sockets as [Awaited<ReturnType<typeof openEvents>>, Awaited<ReturnType<typeof openEvents>>, Awaited<ReturnType<typeof openEvents>>];
  await all.until(() => all.changes().length >= keys.length + 1);
  await fruit.until(() => fruit.changes().length >= 3);
  await veg.until(() => veg.changes().length >= 2);
  assert.deepEqual(fruit.changes().map((f) => `${f.type} ${f.key}`), ['value.put fruit/apple', 'value.put fruit/pear', 'value.deleted fruit/apple']);
  assert.deepEqual(veg.changes().map((f) => f.key), ['veg/leek', 'veg/kale']);
  assert.deepEqual(all.changes().map((f) => f.key), [...keys, 'fruit/apple']);
  // Nothing else trails in for the filtered sockets.
  await put('other/after', 'x');
  await all.until(() => all.changes().at(-1)?.key === 'other/after');
  assert.equal(fruit.changes().length, 3);
  assert.equal(veg.changes().length, 2);
  for (const s of sockets) s.close();
});

test('bad query values are refused on upgrade with a 400 that says why', async () => {
  for (const query of ['?since=abc', '?since=-1', '?since=1.5', '?prefix=%ZZ', '?prefix=%01']) {
    const refused = await refusedUpgrade(instance.url, query);
    assert.equal(refused.status, 400, query);
    assert.equal(refused.body.error, 'invalid_query', query);
    assert.match(refused.body.message, /since|prefix|query/, query);
  }
});

test('messages from the client are ignored and an oversized one closes only that socket', async () => {
  const talker = await openEvents(instance.url);
  const listener = await openEvents(instance.url);
  await talker.next((f) => f.type === 'hello');
  talker.ws.send('hi');
  talker.ws.send('x'.repeat(64 * 1024));
  const closed = await talker.closed;
  assert.notEqual(closed.code, 1000);
  const answer = await put('after/oversized', '1');
  await listener.next((f) => f.revision === answer.revision);
  listener.close();
});
