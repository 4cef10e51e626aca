import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { call } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { openEvents, refusedUpgrade } from './ws-client.js';

const WRITE = 'write-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef';
const ORIGIN = 'https://app.example.com';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

let guarded: Instance;
let writeOnly: Instance;

before(async () => {
  [guarded, writeOnly] = await Promise.all([
    startInstance({ WRITE_TOKEN: WRITE, READ_TOKEN: READ, ALLOWED_ORIGINS: `${ORIGIN}, http://localhost:3000`, LOG_LEVEL: 'trace' }),
    startInstance({ WRITE_TOKEN: WRITE, LOG_LEVEL: 'trace' }),
  ]);
});
after(() => Promise.all([guarded?.stop(), writeOnly?.stop()]));

test('no token: 401 with a Bearer challenge and a JSON error, on every guarded route', async () => {
  const requests: [string, RequestInit][] = [
    ['/values/k', {}],
    ['/values/k', { method: 'HEAD' }],
    ['/values', {}],
    ['/', {}],
    ['/metrics', {}],
    ['/values/k', { method: 'PUT', body: 'v' }],
    ['/values/k', { method: 'DELETE' }],
  ];
  for (const [path, init] of requests) {
    const answer = await call(`${guarded.url}${path}`, init);
    assert.equal(answer.status, 401, `${init.method ?? 'GET'} ${path}`);
    assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="driftkv"');
    if (init.method !== 'HEAD') assert.equal(answer.json.error, 'unauthorized');
  }
});

test('a wrong or malformed token: 401 invalid_token', async () => {
  for (const authorization of [`Bearer ${WRITE}x`, 'Bearer short', `Basic ${Buffer.from(`u:${WRITE}`).toString('base64')}`, `Bearer ${WRITE} extra`]) {
    const answer = await call(`${guarded.url}/values/k`, { method: 'PUT', body: 'v', headers: { Authorization: authorization } });
    assert.equal(answer.status, 401, authorization);
    assert.equal(answer.headers.get('www-authenticate'), 'Bearer realm="driftkv", error="invalid_token"');
    assert.equal(answer.json.error, 'unauthorized');
  }
});

test('the write token writes and reads; the read token reads, and a write with it is 403 insufficient_scope', async () => {
  const put = await call(`${guarded.url}/values/k`, { method: 'PUT', body: 'v1', headers: bearer(WRITE) });
  assert.equal(put.status, 200, put.text);
  for (const token of [READ, WRITE]) {
    const get = await call(`${guarded.url}/values/k`, { headers: bearer(token) });
    assert.deepEqual([get.status, get.json], [200, { key: 'k', value: 'v1' }]);
    const list = await call(`${guarded.url}/values?prefix=k`, { headers: bearer(token) });
    assert.equal(list.json.items.length, 1);
    assert.equal((await call(`${guarded.url}/metrics`, { headers: bearer(token) })).status, 200);
    assert.equal((await call(`${guarded.url}/`, { headers: bearer(token) })).status, 200);
  }
  // The scheme is case-insensitive (RFC 9110 §11.1).
  assert.equal((await call(`${guarded.url}/values/k`, { headers: { Authorization: `bearer ${READ}` } })).status, 200);
  const denied = await call(`${guarded.url}/values/k`, { method: 'PUT', body: 'v2', headers: bearer(READ) });
  assert.equal(denied.status, 403);
  assert.equal(denied.json.error, 'forbidden');
  assert.match(denied.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
  const deleted = await call(`${guarded.url}/values/k`, { method: 'DELETE', headers: bearer(READ) });
  assert.equal(deleted.status, 403);
  const unchanged = await call(`${guarded.url}/values/k`, { headers: bearer(READ) });
  assert.equal(unchanged.json.value, 'v1', 'a refused write changed nothing');
});

test('the landing page takes ?token= (a browser link cannot set headers)', async () => {
  assert.equal((await call(`${guarded.url}/?token=${READ}`)).status, 200);
  assert.equal((await call(`${guarded.url}/?token=nope-nope-nope-nope`)).status, 401);
  assert.equal((await call(`${guarded.url}/values/k?token=${READ}`)).status, 401, 'only the landing page reads the query');
});

test('health and readiness stay open', async () => {
  assert.equal((await call(`${guarded.url}/healthz`)).status, 200);
  assert.equal((await call(`${guarded.url}/readyz`)).status, 200);
});

test('WRITE_TOKEN alone: reads, listing, the landing page and /events stay open; writes need the token', async () => {
  assert.equal((await call(`${writeOnly.url}/values/open`, { method: 'PUT', body: 'x' })).status, 401);
  assert.equal((await call(`${writeOnly.url}/values/open`, { method: 'PUT', body: 'x', headers: bearer(WRITE) })).status, 200);
  assert.equal((await call(`${writeOnly.url}/values/open`)).json.value, 'x');
  assert.equal((await call(`${writeOnly.url}/values`)).status, 200);
  assert.equal((await call(`${writeOnly.url}/`)).status, 200);
  assert.equal((await call(`${writeOnly.url}/metrics`)).status, 200);
  const events = await openEvents(writeOnly.url);
  await events.next((f) => f.type === 'hello');
  events.close();
});

test('/events: refused without a token or with a wrong one, opened with the token in the header or the query', async () => {
  const none = await refusedUpgrade(guarded.url, '');
  assert.deepEqual([none.status, none.body.error], [401, 'unauthorized']);
  const wrong = await refusedUpgrade(guarded.url, '?token=wrong-wrong-wrong-wrong');
  assert.deepEqual([wrong.status, wrong.body.error], [401, 'unauthorized']);

  const byQuery = await openEvents(guarded.url, `?token=${READ}`);
  await byQuery.next((f) => f.type === 'hello');
  const byHeader = new WebSocket(`${guarded.url.replace('http', 'ws')}/events`, { headers: bearer(WRITE) });
  await new Promise((resolve, reject) => byHeader.once('open', resolve).once('error', reject));
  await call(`${guarded.url}/values/live`, { method: 'PUT', body: 'seen', headers: bearer(WRITE) });
  const change = await byQuery.next((f) => f.type === 'value.put' && f.key === 'live');
  assert.equal(change.value, 'seen');
  byQuery.close();
  byHeader.close();
});

test('/events: a disallowed Origin is 403 at the upgrade; allowed, own and absent origins open', async () => {
  const refused = await upgradeStatus(guarded, { Origin: 'https://evil.example.net', ...bearer(READ) });
  assert.equal(refused, 403);
  assert.equal(await upgradeStatus(guarded, { Origin: ORIGIN, ...bearer(READ) }), 101);
  assert.equal(await upgradeStatus(guarded, { Origin: 'http://localhost:3000', ...bearer(READ) }), 101);
  assert.equal(await upgradeStatus(guarded, { Origin: `http://127.0.0.1:${guarded.port}`, ...bearer(READ) }), 101, 'the landing page is same-origin');
  assert.equal(await upgradeStatus(guarded, bearer(READ)), 101, 'no Origin: not a browser');
  // Without ALLOWED_ORIGINS every origin is accepted.
  assert.equal(await upgradeStatus(writeOnly, { Origin: 'https://evil.example.net' }), 101);
});

test('no token appears in the process output', async () => {
  // Provoke the paths that log: a refused upgrade, a refused write, and a graceful stop.
  await call(`${guarded.url}/values/k`, { method: 'PUT', body: 'v', headers: bearer(`${WRITE}x`) });
  const instance = await startInstance({ WRITE_TOKEN: WRITE, READ_TOKEN: READ, LOG_LEVEL: 'trace' });
  await call(`${instance.url}/values/k`, { method: 'PUT', body: 'v', headers: bearer(WRITE) });
  await refusedUpgrade(instance.url, '?token=not-the-token-at-all');
  await instance.stop();
  for (const output of [instance.output, guarded.output, writeOnly.output]) {
    const text = output.join('\n');
    assert.ok(text.length > 0);
    for (const secret of [WRITE, READ, 'not-the-token-at-all']) assert.ok(!text.includes(secret), `a token was printed:\n${text}`);
  }
});

function upgradeStatus(instance: Instance, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${instance.url.replace('http', 'ws')}/events`, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', (error) => reject(error));
  });
}
