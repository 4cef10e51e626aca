import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { call } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';

let instance: Instance;
before(async () => {
  instance = await startInstance();
});
after(async () => {
  await instance.stop();
});

test('the README walk-through: PUT, GET, GET missing, DELETE', async () => {
  const put = await call(`${instance.url}/values/hello`, { method: 'PUT', body: 'world' });
  assert.equal(put.status, 200);
  assert.deepEqual(put.json, { key: 'hello', value: 'world', message: 'OK', revision: put.json.revision });
  const get = await call(`${instance.url}/values/hello`);
  assert.deepEqual(get.json, { key: 'hello', value: 'world' });
  assert.equal(get.headers.get('etag'), `"${put.json.revision}"`);
  assert.equal((await call(`${instance.url}/values/missing`)).status, 404);
  const del = await call(`${instance.url}/values/hello`, { method: 'DELETE' });
  assert.deepEqual(del.json, { key: 'hello', message: '1', revision: put.json.revision + 1 });
});
