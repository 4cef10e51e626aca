import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { call } from '../support/http.js';
import { startInstance, tempDataDir, type Instance } from '../support/instance.js';
import { CHROMIUM, Forwarder, launchChromium } from './browser-support.js';

// The README's picture (docs/screenshot.png) is a copy of this one; the tests never touch tracked files.
const SCREENSHOT = resolve(import.meta.dirname, '../../test-results/landing.png');
const VISIBLE_MS = 2000;
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium)`;

const dataDir = tempDataDir();
let instance: Instance;
let forwarder: Forwarder;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];

const put = (key: string, value: string) => call(`${instance.url}/values/${encodeURIComponent(key)}`, { method: 'PUT', body: value });
const del = (key: string) => call(`${instance.url}/values/${encodeURIComponent(key)}`, { method: 'DELETE' });
const row = (key: string) => `#rows tr[data-key=${JSON.stringify(key)}]`;
const shownKeys = () => page.$$eval('#rows tr', (trs) => trs.map((tr: any) => tr.dataset.key as string));

before(async () => {
  if (skip) return;
  instance = await startInstance({ DATA_DIR: dataDir });
  const seed: [string, string][] = [
    ['config/app/theme', 'dark'],
    ['config/app/locale', 'en-GB'],
    ['feature/checkout-v2', '{"enabled":true,"rollout":25}'],
    ['service/api/replicas', '3'],
    ['user/1001/name', 'Ada Lovelace'],
    ['user/1002/name', 'Alan Turing'],
    ['config/app/max-upload', '25MiB'],
    ['feature/search-suggest', 'off'],
    ['queue/emails/paused', 'false'],
    ['service/worker/replicas', '2'],
    ['</script><script>alert("key")</script>', 'a key that tries to end the script element'],
  ];
  for (const [key, value] of seed) await put(key, value);
  forwarder = new Forwarder(instance.port);
  await forwarder.listen();
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  await page.goto(`http://127.0.0.1:${forwarder.port}/`);
  await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
});

after(async () => {
  await browser?.close();
  await forwarder?.close();
  await instance?.stop();
});

test('the rendered page lists the keys in byte order, hostile ones as text', { skip }, async () => {
  assert.deepEqual(await shownKeys(), [
    '</script><script>alert("key")</script>',
    'config/app/locale',
    'config/app/max-upload',
    'config/app/theme',
    'feature/checkout-v2',
    'feature/search-suggest',
    'queue/emails/paused',
    'service/api/replicas',
    'service/worker/replicas',
    'user/1001/name',
    'user/1002/name',
  ]);
  assert.equal(await page.textContent('#keys'), '11');
  assert.deepEqual(dialogs, []);
});

test('a PUT shows up as a row in key order and in the event list within 2 s', { skip }, async () => {
  const answer = (await put('service/api/timeout', '30s')).json;
  await page.waitForSelector(row('service/api/timeout'), { timeout: VISIBLE_MS });
  await page.waitForSelector(`#events li[data-revision="${answer.revision}"]`, { timeout: VISIBLE_MS });
  const keys = await shownKeys();
  assert.equal(keys.indexOf('service/api/timeout'), keys.indexOf('service/api/replicas') + 1);
  assert.equal(await page.textContent(`${row('service/api/timeout')} td.value`), '30s');
  assert.equal(await page.textContent('#revision'), String(answer.revision));
  assert.equal(await page.textContent('#keys'), '12');
});

test('an update changes the row in place; a DELETE removes it', { skip }, async () => {
  await put('config/app/theme', 'light');
  await page.waitForFunction((sel) => (globalThis as any).document.querySelector(`${sel} td.value`)?.textContent === 'light', row('config/app/theme'), { timeout: VISIBLE_MS });
  await del('user/1002/name');
  await page.waitForSelector(row('user/1002/name'), { state: 'detached', timeout: VISIBLE_MS });
  await page.waitForSelector('#events li[data-type="value.deleted"][data-key="user/1002/name"]', { timeout: VISIBLE_MS });
  assert.equal(await page.textContent('#keys'), '11');
});

test('a value that is markup is shown as text: no element, no script', { skip }, async () => {
  const hostile = '<img src=x onerror=alert(1)>';
  await put('user/1003/bio', hostile);
  await page.waitForSelector(row('user/1003/bio'), { timeout: VISIBLE_MS });
  assert.equal(await page.textContent(`${row('user/1003/bio')} td.value`), hostile);
  assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0);
  await page.waitForTimeout(200);
  assert.deepEqual(dialogs, []);
});

test('a prefix-filtered page shows and follows only its keys', { skip }, async () => {
  const filtered = await browser.newPage();
  try {
    await filtered.goto(`http://127.0.0.1:${forwarder.port}/?prefix=${encodeURIComponent('service/')}`);
    await filtered.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const keysOf = () => filtered.$$eval('#rows tr', (trs) => trs.map((tr: any) => tr.dataset.key as string));
    assert.deepEqual(await keysOf(), ['service/api/replicas', 'service/api/timeout', 'service/worker/replicas']);
    await put('other/ignored', 'x');
    await put('service/cache/ttl', '60');
    await filtered.waitForSelector(row('service/cache/ttl'), { timeout: VISIBLE_MS });
    assert.deepEqual(await keysOf(), ['service/api/replicas', 'service/api/timeout', 'service/cache/ttl', 'service/worker/replicas']);
    assert.equal(await filtered.$(row('other/ignored')), null);
    assert.equal(await filtered.textContent('#matching'), '4');
  } finally {
    await filtered.close();
    await del('other/ignored');
    await del('service/cache/ttl');
  }
});

test('the instance restarts; the page reconnects and catches up on what it missed', { skip }, async () => {
  await instance.stop();
  await page.waitForSelector('#status:not([data-state="live"])', { timeout: 5000 });
  instance = await startInstance({ DATA_DIR: dataDir });
  // Written while the page cannot reach the instance: only `since` brings these to it.
  await put('deploy/last', 'v1.4.2 by ada');
  await del('config/app/locale');
  await del('</script><script>alert("key")</script>');
  const last = (await put('service/api/replicas', '5')).json;
  forwarder.target = instance.port;
  await page.waitForSelector('#status[data-state="live"]', { timeout: 20_000 });
  await page.waitForFunction((revision) => (globalThis as any).document.querySelector('#revision')?.textContent === String(revision), last.revision, { timeout: VISIBLE_MS });
  assert.ok(await page.$(row('deploy/last')));
  assert.equal(await page.$(row('config/app/locale')), null);
  assert.equal(await page.$(row('</script><script>alert("key")</script>')), null);
  assert.equal(await page.textContent('#keys'), '11');
  assert.equal(await page.textContent(`${row('service/api/replicas')} td.value`), '5');
  const listed = await page.$$eval('#events li[data-revision]', (lis) => lis.map((li: any) => Number(li.dataset.revision)));
  assert.deepEqual(listed.slice(0, 4), [last.revision, last.revision - 1, last.revision - 2, last.revision - 3]);
  assert.deepEqual(dialogs, []);
  mkdirSync(resolve(SCREENSHOT, '..'), { recursive: true });
  await page.waitForTimeout(1800); // lets the row highlights fade for the picture
  const height = await page.evaluate(() => Math.ceil((globalThis as any).document.querySelector('footer').getBoundingClientRect().bottom as number) + 20);
  await page.screenshot({ path: SCREENSHOT, clip: { x: 0, y: 0, width: 1280, height: Math.min(height, 820) } });
});
