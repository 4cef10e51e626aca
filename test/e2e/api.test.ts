import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, type Answer } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { parseResponses, rawExchange } from '../support/raw.js';

// Every row of DESIGN §3 and every bad input, against one real process (PGlite takes seconds to start).
let instance: Instance;
let answers = 0;

before(async () => {
  instance = await startInstance({ INSTANCE_ID: 'api-test' });
});
after(async () => {
  const { code } = await instance.stop();
  assert.equal(code, 0);
});

/** Every answer carries X-Instance and X-Revision; every error is {"error","message"}. */
async function req(path: string, init: RequestInit = {}): Promise<Answer> {
  const answer = await call(`${instance.url}${path}`, init);
  answers++;
  assert.equal(answer.headers.get('x-instance'), 'api-test', `X-Instance on ${init.method ?? 'GET'} ${path}`);
  assert.match(answer.headers.get('x-revision') ?? '', /^\d+$/, `X-Revision on ${init.method ?? 'GET'} ${path}`);
  if (answer.status >= 400 && init.method !== 'HEAD') {
    assert.equal(typeof answer.json?.error, 'string', `error code in ${answer.text}`);
    assert.equal(typeof answer.json?.message, 'string', `error message in ${answer.text}`);
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  }
  return answer;
}

const put = (key: string, value: string, headers: Record<string, string> = {}) => req(`/values/${key}`, { method: 'PUT', body: value, headers });
const del = (key: string, headers: Record<string, string> = {}) => req(`/values/${key}`, { method: 'DELETE', headers });

function assertError(answer: Answer, status: number, error: string): void {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.json.error, error, answer.text);
}

describe('GET, PUT, DELETE /values/{key}', () => {
  test('PUT answers the stored value with its revision; GET returns it with its ETag', async () => {
    const before = Number((await req('/healthz')).headers.get('x-revision'));
    const written = await put('rows/a', 'alpha');
    assert.equal(written.status, 200);
    assert.deepEqual(written.json, { key: 'rows/a', value: 'alpha', message: 'OK', revision: before + 1 });
    assert.equal(written.headers.get('etag'), `"${before + 1}"`);
    assert.equal(written.headers.get('x-revision'), String(before + 1), 'visible on this instance before the answer');
    const read = await req('/values/rows/a');
    assert.equal(read.status, 200);
    assert.deepEqual(read.json, { key: 'rows/a', value: 'alpha' });
    assert.equal(read.headers.get('etag'), `"${before + 1}"`);
  });

  test('GET of a missing key is 404 with the key', async () => {
    const answer = await req('/values/rows/missing');
    assertError(answer, 404, 'not_found');
    assert.equal(answer.json.key, 'rows/missing');
  });

  test('If-None-Match with the current tag is 304 without a body; a stale tag gets the value', async () => {
    const { json } = await put('rows/cached', 'v1');
    const fresh = await req('/values/rows/cached', { headers: { 'If-None-Match': `"${json.revision}"` } });
    assert.equal(fresh.status, 304);
    assert.equal(fresh.text, '');
    assert.equal(fresh.headers.get('etag'), `"${json.revision}"`);
    const stale = await req('/values/rows/cached', { headers: { 'If-None-Match': `"${json.revision - 1}"` } });
    assert.equal(stale.status, 200);
    assert.equal(stale.json.value, 'v1');
  });

  test('DELETE answers "1" with a revision, then "0" when nothing is left', async () => {
    const { json } = await put('rows/gone', 'x');
    const first = await del('rows/gone');
    assert.equal(first.status, 200);
    assert.deepEqual(first.json, { key: 'rows/gone', message: '1', revision: json.revision + 1 });
    const second = await del('rows/gone');
    assert.equal(second.status, 200);
    assert.deepEqual(second.json, { key: 'rows/gone', message: '0' });
    assert.equal(second.headers.get('x-revision'), String(json.revision + 1), 'a no-op delete consumes no revision');
    assert.equal((await req('/values/rows/gone')).status, 404);
  });

  test('the value is stored raw whatever the content type, curl -d included', async () => {
    const body = 'a=b&c=d+e%20f';
    const form = await put('rows/form', body, { 'Content-Type': 'application/x-www-form-urlencoded' });
    assert.equal(form.json.value, body);
    assert.equal((await req('/values/rows/form')).json.value, body);
    const json = await put('rows/json', '{"nested":[1,2]}', { 'Content-Type': 'application/json' });
    assert.equal(json.json.value, '{"nested":[1,2]}');
    assert.equal((await put('rows/empty', '')).json.value, '');
    assert.equal((await req('/values/rows/empty')).json.value, '');
  });

  test('keys: slashes kept, %2F equals /, unicode round-trips', async () => {
    await put('slash/a%2Fb', 'encoded');
    assert.equal((await req('/values/slash/a/b')).json.value, 'encoded');
    assert.equal((await req('/values/slash/a%2Fb')).json.key, 'slash/a/b');
    const key = 'unicode/été/😀/日本';
    const written = await put(encodeURIComponent(key), 'ü');
    assert.equal(written.json.key, key);
    const read = await req(`/values/${encodeURIComponent(key)}`);
    assert.deepEqual(read.json, { key, value: 'ü' });
    const valueOnly = await put('unicode/value', '😀 ünïcödé');
    assert.equal(valueOnly.json.value, '😀 ünïcödé');
  });

  test('a key of exactly MAX_KEY_BYTES bytes is accepted', async () => {
    const key = 'é'.repeat(512); // 1024 bytes
    const written = await put(encodeURIComponent(key), 'long');
    assert.equal(written.status, 200);
    assert.equal((await req(`/values/${encodeURIComponent(key)}`)).json.value, 'long');
  });

  test('HEAD has the headers of GET and no body', async () => {
    const { json } = await put('rows/head', 'headed');
    const get = await req('/values/rows/head');
    const head = await req('/values/rows/head', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
    assert.equal(head.headers.get('etag'), `"${json.revision}"`);
    assert.equal(head.headers.get('content-length'), get.headers.get('content-length'));
    assert.equal((await req('/values/rows/nothing', { method: 'HEAD' })).status, 404);
  });

  test('HEAD answers keep the connection in step (no body bytes on the wire)', async () => {
    await put('rows/wire', 'on the wire');
    const data = await rawExchange(
      instance.port,
      'HEAD /values/rows/wire HTTP/1.1\r\nHost: t\r\n\r\n' +
        'HEAD /nowhere HTTP/1.1\r\nHost: t\r\n\r\n' +
        'HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n' +
        'GET /values/rows/wire HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    );
    const responses = parseResponses(data, (index) => index < 3);
    assert.deepEqual(responses.map((r) => r.status), [200, 404, 405, 200]);
    assert.equal(responses[1]!.headers.get('content-length'), String(Buffer.byteLength(JSON.stringify({ error: 'not_found', message: 'no such path; see /values/{key}' }))));
    assert.equal(responses[2]!.headers.get('allow'), 'GET');
    assert.deepEqual(JSON.parse(responses[3]!.body), { key: 'rows/wire', value: 'on the wire' });
  });
});

describe('conditional and asynchronous writes', () => {
  test('If-Match compare-and-set: a match applies, a mismatch is 412 with the current revision', async () => {
    const { json: first } = await put('cas/k', 'v1');
    const matched = await put('cas/k', 'v2', { 'If-Match': `"${first.revision}"` });
    assert.equal(matched.status, 200);
    assert.equal(matched.json.value, 'v2');
    const stale = await put('cas/k', 'v3', { 'If-Match': `"${first.revision}"` });
    assertError(stale, 412, 'precondition_failed');
    assert.equal(stale.json.revision, matched.json.revision);
    assert.equal((await req('/values/cas/k')).json.value, 'v2');
    const staleDelete = await del('cas/k', { 'If-Match': `"${first.revision}"` });
    assertError(staleDelete, 412, 'precondition_failed');
    const missing = await put('cas/never', 'x', { 'If-Match': '"1"' });
    assertError(missing, 412, 'precondition_failed');
    assert.equal(missing.json.revision, null);
    assert.equal((await req('/values/cas/never')).status, 404);
  });

  test('If-None-Match: * creates only; a second create is 412', async () => {
    const created = await put('cas/create', 'first', { 'If-None-Match': '*' });
    assert.equal(created.status, 200);
    const again = await put('cas/create', 'second', { 'If-None-Match': '*' });
    assertError(again, 412, 'precondition_failed');
    assert.equal(again.json.revision, created.json.revision);
    assert.equal((await req('/values/cas/create')).json.value, 'first');
  });

  test('If-Match: * writes only what exists', async () => {
    assertError(await put('cas/star', 'x', { 'If-Match': '*' }), 412, 'precondition_failed');
    await put('cas/star', 'x');
    const updated = await put('cas/star', 'y', { 'If-Match': '*' });
    assert.equal(updated.status, 200);
    assert.equal((await del('cas/star', { 'If-Match': '*' })).json.message, '1');
  });

  test('Prefer: respond-async is 202 with a commandId, and the write then becomes visible', async () => {
    const accepted = await put('async/k', 'later', { Prefer: 'respond-async' });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.json.key, 'async/k');
    assert.equal(accepted.json.message, 'Accepted');
    assert.equal(typeof accepted.json.commandId, 'string');
    assert.deepEqual((await pollValue('async/k')).json, { key: 'async/k', value: 'later' });
    const acceptedDelete = await del('async/k', { Prefer: 'respond-async', 'Idempotency-Key': 'async-delete-1' });
    assert.equal(acceptedDelete.status, 202);
    assert.equal(acceptedDelete.json.commandId, 'async-delete-1');
    for (let i = 0; i < 100 && (await req('/values/async/k')).status !== 404; i++) await sleep(50);
    assert.equal((await req('/values/async/k')).status, 404);
  });

  test('Idempotency-Key: a retried write is applied once and answered alike', async () => {
    const key = `idem-${process.pid}-${Date.now()}`;
    const first = await put('idem/k', 'once', { 'Idempotency-Key': key });
    const retry = await put('idem/k', 'once', { 'Idempotency-Key': key });
    assert.equal(first.status, 200);
    assert.deepEqual(retry.json, first.json);
    assert.equal(retry.headers.get('x-revision'), first.headers.get('x-revision'), 'the retry consumed no revision');
    const next = await put('idem/other', 'x');
    assert.equal(next.json.revision, first.json.revision + 1, 'the revision counter advanced once for both');
    // A retry after other writes still gets the first answer and changes nothing.
    await put('idem/k', 'changed');
    const late = await put('idem/k', 'once', { 'Idempotency-Key': key });
    assert.equal(late.json.revision, first.json.revision);
    assert.equal((await req('/values/idem/k')).json.value, 'changed');
  });

  test('an Idempotency-Key reused with another request: 422 idempotency_key_reused, never a 200 for a write that was not made', async () => {
    const key = `idem-reuse-${process.pid}-${Date.now()}`;
    const first = await put('reuse/a', 'one', { 'Idempotency-Key': key });
    assert.equal(first.status, 200);
    // Another key: answering the first outcome would acknowledge a write to reuse/b that never happened.
    const otherKey = await put('reuse/b', 'two', { 'Idempotency-Key': key });
    assertError(otherKey, 422, 'idempotency_key_reused');
    assert.equal(otherKey.json.key, 'reuse/b');
    assert.equal(otherKey.json.idempotencyKey, key);
    assert.equal((await req('/values/reuse/b')).status, 404, 'reuse/b was not written');
    // The same key with another value, or a DELETE: the first write stands, and this one is refused.
    assertError(await put('reuse/a', 'changed', { 'Idempotency-Key': key }), 422, 'idempotency_key_reused');
    assertError(await del('reuse/a', { 'Idempotency-Key': key }), 422, 'idempotency_key_reused');
    assert.deepEqual((await req('/values/reuse/a')).json, { key: 'reuse/a', value: 'one' });
    // The identical request is still a retry, answered alike.
    assert.deepEqual((await put('reuse/a', 'one', { 'Idempotency-Key': key })).json, first.json);
    // Once the key has been overwritten, the change log still tells what the first request wrote.
    await put('reuse/a', 'overwritten');
    assertError(await put('reuse/a', 'three', { 'Idempotency-Key': key }), 422, 'idempotency_key_reused');
    assertError(await del('reuse/a', { 'Idempotency-Key': key }), 422, 'idempotency_key_reused');
    assert.deepEqual((await put('reuse/a', 'one', { 'Idempotency-Key': key })).json, first.json);
    assert.deepEqual((await req('/values/reuse/a')).json, { key: 'reuse/a', value: 'overwritten' });
    // A DELETE that found nothing, retried as a PUT under its key: not "nothing to delete", and not written.
    const gone = `idem-gone-${process.pid}-${Date.now()}`;
    assert.equal((await del('reuse/none', { 'Idempotency-Key': gone })).json.message, '0');
    assertError(await put('reuse/none', 'v', { 'Idempotency-Key': gone }), 422, 'idempotency_key_reused');
    assert.equal((await req('/values/reuse/none')).status, 404);
    assert.equal((await del('reuse/none', { 'Idempotency-Key': gone })).json.message, '0', 'the DELETE retried is answered alike');
  });

  test('one Idempotency-Key on concurrent writes to different keys: one is applied, the others are 422 and not written', async () => {
    const key = `idem-race-${process.pid}-${Date.now()}`;
    const targets = ['race/0', 'race/1', 'race/2', 'race/3'];
    const answers = await Promise.all(targets.map((target) => put(target, 'v', { 'Idempotency-Key': key })));
    const won = answers.filter((a) => a.status === 200);
    assert.equal(won.length, 1, answers.map((a) => a.text).join('\n'));
    for (const a of answers) if (a.status !== 200) assertError(a, 422, 'idempotency_key_reused');
    const stored = await Promise.all(targets.map(async (target) => (await req(`/values/${target}`)).status));
    assert.deepEqual(
      targets.filter((_, i) => stored[i] === 200),
      [won[0]!.json.key],
    );
  });

  test('one Idempotency-Key on concurrent PUTs of different values to one key: the stored one is answered 200, the others 422', async () => {
    const key = `idem-values-${process.pid}-${Date.now()}`;
    const answers = await Promise.all([0, 1, 2, 3].map((n) => put('race/values', `v${n}`, { 'Idempotency-Key': key })));
    const won = answers.filter((a) => a.status === 200);
    assert.equal(won.length, 1, answers.map((a) => a.text).join('\n'));
    for (const a of answers) if (a.status !== 200) assertError(a, 422, 'idempotency_key_reused');
    assert.equal((await req('/values/race/values')).json.value, won[0]!.json.value, 'the 200 names the value stored');
  });

  test('concurrent retries with one Idempotency-Key apply once', async () => {
    const key = `idem-burst-${process.pid}-${Date.now()}`;
    const answers = await Promise.all(Array.from({ length: 5 }, () => put('idem/burst', 'b', { 'Idempotency-Key': key })));
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal(new Set(answers.map((a) => a.json.revision)).size, 1);
    const next = await put('idem/burst-next', 'x');
    assert.equal(next.json.revision, answers[0]!.json.revision + 1);
  });
});

describe('GET /values (listing)', () => {
  const keys = ['page/a', 'page/b', 'page/b/1', 'page/c', 'page/\uE000', 'page/\uFFFD', 'page/\u{1F600}', 'page/é'];
  const byteOrder = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));

  before(async () => {
    for (const key of keys) await put(encodeURIComponent(key), `v:${key}`);
  });

  test('lists a prefix in UTF-8 byte order with values and revisions', async () => {
    const answer = await req(`/values?prefix=${encodeURIComponent('page/')}`);
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json.items.map((i: { key: string }) => i.key), byteOrder);
    assert.equal(answer.json.next, null);
    assert.equal(answer.json.revision, Number(answer.headers.get('x-revision')));
    for (const item of answer.json.items) {
      assert.equal(item.value, `v:${item.key}`);
      assert.equal(typeof item.revision, 'number');
    }
  });

  test('pages with limit and the next cursor', async () => {
    const seen: string[] = [];
    let after = '';
    for (let pages = 0; pages < 10; pages++) {
      const answer = await req(`/values?prefix=page%2F&limit=3&after=${encodeURIComponent(after)}`);
      assert.ok(answer.json.items.length <= 3);
      seen.push(...answer.json.items.map((i: { key: string }) => i.key));
      if (answer.json.next === null) break;
      assert.equal(answer.json.next, seen[seen.length - 1]);
      after = answer.json.next;
    }
    assert.deepEqual(seen, byteOrder);
  });

  test('without a prefix every key is listed; an unmatched prefix is an empty page', async () => {
    const all = await req('/values?limit=1000');
    assert.ok(all.json.items.length >= keys.length);
    const empty = await req('/values?prefix=no-such-prefix');
    assert.deepEqual(empty.json.items, []);
    assert.equal(empty.json.next, null);
  });
});

describe('system endpoints and the landing page', () => {
  test('/healthz and /readyz', async () => {
    const health = await req('/healthz');
    assert.equal(health.status, 200);
    assert.equal(health.json.status, 'ok');
    const ready = await req('/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.json.ready, true);
    assert.equal(ready.json.revision, Number(ready.headers.get('x-revision')));
  });

  test('/metrics is Prometheus text with revision, key count and request counters', async () => {
    await req('/values/metrics-probe-missing');
    const metrics = await req('/metrics');
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain/);
    const revision = Number(/^driftkv_applied_revision (\d+)$/m.exec(metrics.text)?.[1]);
    assert.equal(revision, Number(metrics.headers.get('x-revision')));
    const keys = Number(/^driftkv_keys (\d+)$/m.exec(metrics.text)?.[1]);
    assert.equal(keys, (await req('/values?limit=1000')).json.items.length);
    // The stored answers' bytes: at least the bodies of the keys listed, and no more slab than live bytes need.
    const live = Number(/^driftkv_keyspace_arena_bytes\{state="live"\} (\d+)$/m.exec(metrics.text)?.[1]);
    const allocated = Number(/^driftkv_keyspace_arena_bytes\{state="allocated"\} (\d+)$/m.exec(metrics.text)?.[1]);
    assert.ok(keys === 0 || live > 0, `live arena bytes ${live} for ${keys} keys`);
    assert.ok(allocated >= live, `allocated ${allocated} >= live ${live}`);
    const notFound = /^driftkv_http_requests_total\{route="value",method="GET",status="404"\} (\d+)$/m.exec(metrics.text);
    assert.ok(notFound && Number(notFound[1]) >= 1, 'request counter by route, method and status');
    // Embedded too, every batch tells where its time went: confirmed, queued, committed, then made visible.
    const countIn = (text: string, name: string) => Number(new RegExp(`^${name}_count (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    const confirmedBefore = countIn(metrics.text, 'driftkv_command_confirm_seconds');
    await put('metrics/probe', 'v');
    const after = (await req('/metrics')).text;
    const count = (name: string) => countIn(after, name);
    assert.equal(count('driftkv_command_confirm_seconds'), confirmedBefore + 1, 'the write waited for its command to be confirmed, and was timed');
    const batches = count('driftkv_consumer_batch_size');
    assert.ok(batches > 0);
    assert.equal(count('driftkv_command_queued_seconds'), batches);
    assert.equal(count('driftkv_consumer_commit_seconds'), batches);
    assert.ok(count('driftkv_change_visible_seconds') > 0);
  });

  test('GET / renders the instance, its revision and the keys escaped', async () => {
    await put(encodeURIComponent('<b>x</b>'), '<script>alert(1)</script>');
    const page = await req('/');
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    assert.ok(page.text.includes('api-test'));
    assert.ok(page.text.includes('&lt;b&gt;x&lt;/b&gt;'), 'the key is escaped');
    assert.ok(!page.text.includes('<b>x</b>'));
    assert.ok(!page.text.includes('<script>alert(1)</script>'), 'the value is escaped');
  });
});

describe('bad input: a JSON error with the right status, never a crash', () => {
  test('malformed percent-encoding in the key', async () => {
    for (const path of ['/values/%zz', '/values/a%', '/values/%E0%A4%A', '/values/%FF', '/values/%ED%A0%80']) {
      assertError(await req(path), 400, 'invalid_key');
      assertError(await put(path.slice('/values/'.length), 'x'), 400, 'invalid_key');
    }
  });

  test('invalid UTF-8 bytes sent raw in the URL', async () => {
    const request = Buffer.concat([Buffer.from('PUT /values/raw'), Buffer.from([0xff, 0xfe]), Buffer.from(' HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx')]);
    const [answer] = parseResponses(await rawExchange(instance.port, request));
    assert.equal(answer!.status, 400);
    assert.equal(JSON.parse(answer!.body).error, 'invalid_key');
    assert.equal((await req(`/values/raw${encodeURIComponent('\uFFFD\uFFFD')}`)).status, 404, 'nothing stored under the replacement characters');
  });

  test('key longer than MAX_KEY_BYTES', async () => {
    assertError(await req(`/values/${'k'.repeat(1025)}`), 400, 'invalid_key');
    assertError(await put(encodeURIComponent('é'.repeat(512) + 'x'), 'v'), 400, 'invalid_key');
  });

  test('key with control characters', async () => {
    for (const key of ['a%00b', 'line%0Abreak', 'tab%09', 'del%7F', 'c1%C2%85']) assertError(await put(key, 'v'), 400, 'invalid_key');
  });

  test('empty key', async () => {
    assertError(await req('/values/'), 400, 'invalid_key');
    assertError(await put('', 'v'), 400, 'invalid_key');
    assertError(await del(''), 400, 'invalid_key');
  });

  test('value that is not UTF-8, or holds U+0000', async () => {
    assertError(await req('/values/bad/value', { method: 'PUT', body: new Uint8Array([0x61, 0xff, 0x62]) }), 400, 'invalid_value');
    assertError(await req('/values/bad/value', { method: 'PUT', body: new Uint8Array([0xed, 0xa0, 0x80]) }), 400, 'invalid_value');
    assertError(await put('bad/value', 'a\u0000b'), 400, 'invalid_value');
    assert.equal((await req('/values/bad/value')).status, 404);
  });

  test('value over MAX_VALUE_BYTES, by Content-Length: 413 before the body is sent', async () => {
    const exact = await put('big/exact', 'v'.repeat(1024 * 1024));
    assert.equal(exact.status, 200);
    assertError(await put('big/over', 'v'.repeat(1024 * 1024 + 1)), 413, 'value_too_large');
    // Only the head is sent: the answer must not wait for a body that never comes, and a body that
    // large is not worth receiving: the connection is closed.
    const head = 'PUT /values/big/declared HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n';
    const [answer] = parseResponses(await rawExchange(instance.port, head));
    assert.equal(answer!.status, 413);
    const refusal = JSON.parse(answer!.body);
    assert.deepEqual([refusal.error, refusal.limit, refusal.declared], ['value_too_large', 1024 * 1024, 50_000_000]);
    assert.equal((await req('/values/big/over')).status, 404);
    // A smaller refused body is skipped as it arrives: the next request on the connection is answered.
    const body = 'v'.repeat(2 * 1024 * 1024);
    const twice = `PUT /values/big/skipped HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n${body}GET /values/big/exact HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`;
    const [refused, next] = parseResponses(await rawExchange(instance.port, twice));
    assert.equal(refused!.status, 413);
    assert.equal(next!.status, 200);
    assert.equal(JSON.parse(next!.body).value.length, 1024 * 1024);
    assert.equal((await req('/values/big/skipped')).status, 404);
  });

  test('value over MAX_VALUE_BYTES, chunked: 413 from the running total', async () => {
    const chunk = new Uint8Array(64 * 1024).fill(0x61);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= 1024 * 1024 + chunk.length) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const answer = await req('/values/big/chunked', { method: 'PUT', body, duplex: 'half' } as RequestInit);
    assertError(answer, 413, 'value_too_large');
    assert.equal((await req('/values/big/chunked')).status, 404);
    // Chunked under the limit is stored.
    const small = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('in '));
        controller.enqueue(new TextEncoder().encode('chunks'));
        controller.close();
      },
    });
    const stored = await req('/values/big/chunked-small', { method: 'PUT', body: small, duplex: 'half' } as RequestInit);
    assert.equal(stored.json.value, 'in chunks');
  });

  test('wrong method: 405 with Allow', async () => {
    const cases: [string, string, string][] = [
      ['/values/k', 'PATCH', 'GET, HEAD, PUT, DELETE'],
      ['/values/k', 'POST', 'GET, HEAD, PUT, DELETE'],
      ['/values', 'POST', 'GET'],
      ['/values', 'DELETE', 'GET'],
      ['/', 'PUT', 'GET'],
      ['/healthz', 'POST', 'GET'],
      ['/metrics', 'DELETE', 'GET'],
    ];
    for (const [path, method, allow] of cases) {
      const answer = await req(path, { method, body: method === 'DELETE' ? undefined : 'x' });
      assertError(answer, 405, 'method_not_allowed');
      assert.equal(answer.headers.get('allow'), allow, `${method} ${path}`);
    }
  });

  test('unknown path: 404', async () => {
    for (const path of ['/nope', '/value/k', '/values-x', '/healthz/x']) assertError(await req(path), 404, 'not_found');
    assertError(await req('/nope', { method: 'PUT', body: 'x' }), 404, 'not_found');
  });

  test('bad If-Match, If-None-Match and Idempotency-Key: 400', async () => {
    assertError(await put('hdr/k', 'v', { 'If-Match': 'abc' }), 400, 'invalid_header');
    assertError(await put('hdr/k', 'v', { 'If-Match': '"1", "2"' }), 400, 'invalid_header');
    assertError(await put('hdr/k', 'v', { 'If-None-Match': '"3"' }), 400, 'invalid_header');
    assertError(await put('hdr/k', 'v', { 'If-Match': '"1"', 'If-None-Match': '*' }), 400, 'invalid_header');
    assertError(await del('hdr/k', { 'If-Match': 'nope' }), 400, 'invalid_header');
    assertError(await put('hdr/k', 'v', { 'Idempotency-Key': 'x'.repeat(201) }), 400, 'invalid_header');
    assertError(await put('hdr/k', 'v', { 'Idempotency-Key': 'has space' }), 400, 'invalid_header');
    assert.equal((await req('/values/hdr/k')).status, 404, 'nothing was written');
  });

  test('bad limit and malformed query strings: 400', async () => {
    for (const query of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1001', 'limit=2.5', 'prefix=%zz', 'after=%', '%zz=1', 'prefix=%FF']) {
      assertError(await req(`/values?${query}`), 400, 'invalid_query');
    }
  });

  test('a body left unread by an early refusal does not desynchronise the connection', async () => {
    const smuggled = 'PUT /values/smuggled HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n\r\nx';
    const data = await rawExchange(
      instance.port,
      `PUT /values/%zz HTTP/1.1\r\nHost: t\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
        `PUT /values/hdr/k HTTP/1.1\r\nHost: t\r\nIf-Match: bad\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}` +
        'GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n',
    );
    assert.deepEqual(parseResponses(data).map((r) => r.status), [400, 400, 200]);
    assert.equal((await req('/values/smuggled')).status, 404);
  });

  test('a client that hangs up halfway through its body leaves nothing behind', async () => {
    const { connect } = await import('node:net');
    await new Promise<void>((done) => {
      const socket = connect(instance.port, '127.0.0.1', () => {
        socket.write('PUT /values/hangup HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nhalf', () => setTimeout(() => socket.destroy(), 50));
      });
      socket.on('close', () => done());
    });
    assert.equal((await req('/values/hangup')).status, 404);
    // The abandoned request is settled (counted as 499), not left pending where it would hold up shutdown.
    const settled = /^driftkv_http_requests_total\{route="value",method="PUT",status="499"\} (\d+)$/m;
    let match: RegExpExecArray | null = null;
    for (let i = 0; i < 50 && !match; i++) {
      match = settled.exec((await req('/metrics')).text);
      if (!match) await sleep(20);
    }
    assert.ok(match && Number(match[1]) >= 1, 'the aborted upload was settled');
  });

  test('the process is still up and answering after all of it', async () => {
    assert.equal(instance.process.exitCode, null);
    assert.equal((await req('/healthz')).status, 200);
    assert.ok(answers > 50);
  });
});

async function pollValue(key: string): Promise<Answer> {
  for (let i = 0; i < 100; i++) {
    const answer = await req(`/values/${key}`);
    if (answer.status === 200) return answer;
    await sleep(50);
  }
  throw new Error(`${key} never became visible`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
