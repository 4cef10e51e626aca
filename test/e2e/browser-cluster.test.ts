import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { Cluster } from '../integration/cluster.js';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import { CHROMIUM, Forwarder, launchChromium } from './browser-support.js';

// Distributed mode (RabbitMQ and PostgreSQL): the page follows instance A, writes go through B.
const VISIBLE_MS = 2000;
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent (apt-get install -y chromium)`;

const cluster = new Cluster();
let a: Instance;
let b: Instance;
let forwarder: Forwarder;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];

const put = (key: string, value: string) => call(`${b.url}/values/${encodeURIComponent(key)}`, { method: 'PUT', body: value });
const del = (key: string) => call(`${b.url}/values/${encodeURIComponent(key)}`, { method: 'DELETE' });
const row = (key: string) => `#rows tr[data-key=${JSON.stringify(key)}]`;

before(async () => {
  if (skip) return;
  a = await cluster.start();
  b = await cluster.start();
  await put('cluster/seed', 'x');
  forwarder = new Forwarder(a.port);
  await forwarder.listen();
  browser = await launchChromium();
  page = await browser.newPage();
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
  await cluster.destroy();
});

test('a PUT through B appears on the page served by A within 2 s; a DELETE through B removes it', { skip }, async () => {
  assert.equal(await page.textContent('#instance'), (await call(`${a.url}/healthz`)).headers.get('x-instance'));
  const answer = (await put('cluster/new', '<img src=x onerror=alert(1)>')).json;
  await page.waitForSelector(row('cluster/new'), { timeout: VISIBLE_MS });
  await page.waitForSelector(`#events li[data-revision="${answer.revision}"]`, { timeout: VISIBLE_MS });
  assert.equal(await page.textContent(`${row('cluster/new')} td.value`), '<img src=x onerror=alert(1)>');
  assert.equal(await page.$$eval('img', (imgs) => imgs.length), 0);
  await del('cluster/new');
  await page.waitForSelector(row('cluster/new'), { state: 'detached', timeout: VISIBLE_MS });
  assert.deepEqual(dialogs, []);
});

test('A stops; the page fails over to B and catches up on what it missed', { skip }, async () => {
  await a.stop();
  await page.waitForSelector('#status:not([data-state="live"])', { timeout: 5000 });
  forwarder.target = 0; // nothing behind the balancer for a moment: these writes can only arrive by `since`
  await put('cluster/missed', 'while away');
  const last = (await put('cluster/seed', 'y')).json;
  forwarder.target = b.port;
  await page.waitForFunction((revision) => (globalThis as any).document.querySelector('#revision')?.textContent === String(revision), last.revision, { timeout: 20_000 });
  assert.equal(await page.textContent('#instance'), (await call(`${b.url}/healthz`)).headers.get('x-instance'));
  assert.ok(await page.$(row('cluster/missed')));
  assert.equal(await page.textContent(`${row('cluster/seed')} td.value`), 'y');
  assert.deepEqual(dialogs, []);
});
