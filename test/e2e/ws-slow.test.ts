import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { openEvents, range, revisions } from './ws-client.js';

let instance: Instance;
before(async () => {
  instance = await startInstance();
});
after(async () => {
  await instance.stop();
});

const VALUE = 'v'.repeat(128 * 1024);
const MAX_WRITES = 400; // 50 MiB: far beyond the server's per-socket bound plus both kernels' buffers

test('a client that stops reading is closed; the others keep receiving everything', async (t) => {
  const slow = await openEvents(instance.url);
  const slowHello = await slow.next((f) => f.type === 'hello');
  (slow.ws as unknown as { _socket: Socket })._socket.pause();
  const fast = await openEvents(instance.url);
  const fastHello = await fast.next((f) => f.type === 'hello');

  let writes = 0;
  let slowClosed = false;
  void fast.next((f) => f.type === 'connection.closed' && f.connection === slowHello.connection, 120_000).then(() => (slowClosed = true), () => {});
  while (!slowClosed && writes < MAX_WRITES) {
    await Promise.all(Array.from({ length: 4 }, (_, i) => call(`${instance.url}/values/slow%2F${(writes + i) % 10}`, { method: 'PUT', body: VALUE })));
    writes += 4;
  }
  assert.ok(slowClosed, `the slow socket was still open after ${writes} writes of ${VALUE.length} bytes`);
  const metrics = (await call(`${instance.url}/metrics`)).text;
  assert.match(metrics, /^driftkv_ws_slow_closed_total 1$/m);

  // The fast socket saw every write, in order.
  await fast.until(() => fast.changes().length === writes);
  assert.deepEqual(revisions(fast.changes()), range(fastHello.revision + 1, fastHello.revision + writes));

  // The slow one, once it reads again, gets what was already on its way, without a hole, then the close.
  (slow.ws as unknown as { _socket: Socket })._socket.resume();
  const closed = await slow.closed;
  const got = slow.changes();
  assert.ok(got.length < writes, `the slow socket received all ${writes} changes`);
  assert.deepEqual(revisions(got), range(slowHello.revision + 1, slowHello.revision + got.length));
  assert.notEqual(closed.code, 1000);

  t.diagnostic(`slow socket closed after ${writes} writes (${(writes * VALUE.length) / 2 ** 20} MiB); it had received ${got.length}`);
  fast.close();
});
