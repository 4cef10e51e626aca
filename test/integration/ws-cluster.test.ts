import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { inParallel, openEvents, range, revisions } from '../e2e/ws-client.js';
import { Cluster } from './cluster.js';

const cluster = new Cluster();
let a: Instance;
let b: Instance;

before(async () => {
  a = await cluster.start();
  b = await cluster.start();
});
after(() => cluster.destroy());

const put = async (on: Instance, key: string, value: string) => (await call(`${on.url}/values/${encodeURIComponent(key)}`, { method: 'PUT', body: value })).json;
const instanceId = async (on: Instance) => (await call(`${on.url}/healthz`)).headers.get('x-instance');

test('connection events cross instances through the event bus', async () => {
  const onA = await openEvents(a.url);
  await onA.next((f) => f.type === 'hello');
  const onB = await openEvents(b.url);
  const helloB = await onB.next((f) => f.type === 'hello');
  assert.equal(helloB.instance, await instanceId(b));
  const opened = await onA.next((f) => f.type === 'connection.opened' && f.connection === helloB.connection);
  assert.equal(opened.instance, helloB.instance);
  assert.equal('revision' in opened, false);
  onB.close();
  const closed = await onA.next((f) => f.type === 'connection.closed' && f.connection === helloB.connection);
  assert.equal(closed.instance, helloB.instance);
  onA.close();
});

test('writes through B reach a socket on A once each, in revision order, without gaps', async () => {
  const onA = await openEvents(a.url);
  const helloA = await onA.next((f) => f.type === 'hello');
  const values = new Map<number, string>();
  await inParallel(150, 8, async (i) => {
    const answer = await put(i % 3 === 0 ? a : b, `mixed/${i}`, `v${i}`);
    values.set(answer.revision, `v${i}`);
  });
  const head = await cluster.head();
  await onA.until(() => onA.changes().at(-1)?.revision === head);
  assert.deepEqual(revisions(onA.changes()), range(helloA.revision + 1, head));
  for (const change of onA.changes()) assert.equal(change.value, values.get(change.revision));
  onA.close();
});

test('a page rendered on B follows A with since, exactly, while writes go on through B', async () => {
  const rendered = await call(`${b.url}/`);
  const since = Number(rendered.headers.get('x-revision'));
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing || i < 20; i++) await put(b, `follow/${i % 4}`, String(i));
  })();
  await new Promise((r) => setTimeout(r, 100));
  const onA = await openEvents(a.url, `?since=${since}&prefix=follow%2F`);
  await new Promise((r) => setTimeout(r, 300));
  writing = false;
  await writer;
  const head = await cluster.head();
  await onA.until(() => onA.changes().at(-1)?.revision === head);
  const log = (await cluster.changeLog()).filter((c) => c.revision > since && c.key.startsWith('follow/'));
  assert.deepEqual(revisions(onA.changes()), log.map((c) => c.revision));
  assert.ok(log.length >= 20);
  onA.close();
});

test('stopping B announces its sockets closed to A', async () => {
  const onA = await openEvents(a.url);
  await onA.next((f) => f.type === 'hello');
  const onB = await openEvents(b.url);
  const helloB = await onB.next((f) => f.type === 'hello');
  await onA.next((f) => f.type === 'connection.opened' && f.connection === helloB.connection);
  const stopped = await b.stop();
  assert.equal(stopped.code, 0);
  assert.equal((await onB.closed).code, 1001);
  await onA.next((f) => f.type === 'connection.closed' && f.connection === helloB.connection);
  onA.close();
});
