import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { fuzzCase } from '../support/fuzz-requests.js';
import { openFds, playCase, rssMiB } from '../support/fuzz-client.js';
import { call } from '../support/http.js';
import { startInstance, type Instance } from '../support/instance.js';
import { Random, seedFromEnv } from '../support/random.js';
import { garbageFrames, rawWebSocket } from '../support/ws-frames.js';
import { openEvents } from './ws-client.js';

// Bounded in count and time; FUZZ_SEED replays a run, FUZZ_CASES makes it longer.
const SEED = seedFromEnv('FUZZ_SEED');
const CASES = Number(process.env.FUZZ_CASES ?? 1500);
const BUDGET_MS = 120_000;
const CONCURRENCY = 16;

let instance: Instance;
before(async () => {
  instance = await startInstance();
});
after(() => instance?.stop());

const pid = () => instance.process.pid!;

async function assertStillServing(tag: string): Promise<void> {
  assert.equal(instance.process.exitCode, null, `${tag}: the process exited:\n${instance.output.slice(-20).join('\n')}`);
  assert.equal(instance.process.signalCode, null);
  const put = await call(`${instance.url}/values/${encodeURIComponent(`check/${tag}`)}`, { method: 'PUT', body: `ok ${tag} é` });
  assert.equal(put.status, 200, put.text);
  const get = await call(`${instance.url}/values/${encodeURIComponent(`check/${tag}`)}`);
  assert.deepEqual([get.status, get.json], [200, { key: `check/${tag}`, value: `ok ${tag} é` }]);
  const list = await call(`${instance.url}/values?prefix=check/&limit=1000`);
  assert.ok(list.json.items.some((i: { key: string }) => i.key === `check/${tag}`));
  assert.equal((await call(`${instance.url}/healthz`)).status, 200);
}

test(`HTTP fuzzer over raw sockets (seed ${SEED}): the process stays up, bounded, and correct`, async (t) => {
  t.diagnostic(`replay with FUZZ_SEED=${SEED}`);
  await assertStillServing('before-fuzz');
  const rssBefore = rssMiB(pid());
  const fdsBefore = openFds(pid());
  const rng = new Random(SEED);
  const statuses = new Map<number, number>();
  let played = 0;
  let bytes = 0;
  const started = Date.now();
  const worker = async () => {
    while (played < CASES && Date.now() - started < BUDGET_MS) {
      played++;
      const result = await playCase(instance.port, fuzzCase(rng));
      bytes += result.sent;
      for (const status of result.statuses) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const rssAfter = rssMiB(pid());
  const summary = [...statuses].sort(([a], [b]) => a - b).map(([s, n]) => `${s}:${n}`).join(' ');
  t.diagnostic(`${played} connections, ${(bytes / 2 ** 20).toFixed(1)} MiB sent in ${((Date.now() - started) / 1000).toFixed(1)} s; answers ${summary}`);
  t.diagnostic(`RSS ${rssBefore} MiB before, ${rssAfter} MiB after; open fds ${fdsBefore} before, ${openFds(pid())} after`);

  await assertStillServing('after-fuzz');
  assert.equal(statuses.get(500) ?? 0, 0, 'no request ended in an internal error');
  const errors = instance.output.filter((line) => /"level":(50|60)/.test(line));
  assert.deepEqual(errors, [], 'nothing was logged as an error');
  assert.ok(rssAfter < rssBefore + 256, `RSS grew from ${rssBefore} to ${rssAfter} MiB`);
  // Every fuzz connection is closed on the client side by now; the server must have let go of them.
  const fds = await settle(() => openFds(pid()), (n) => n <= fdsBefore + 8);
  assert.ok(fds <= fdsBefore + 8, `open fds ${fds}, ${fdsBefore} before`);
});

test('slowloris: idle connections that trickle partial headers are bounded; normal requests keep answering', async (t) => {
  const limit = softFdLimit();
  // Both ends of every slow connection live on this machine: the test process holds one fd, the server the other.
  const count = Math.min(1000, Math.floor((limit - 500) / 2));
  t.diagnostic(`ulimit -n ${limit}: ${count} slow connections`);
  const fdsBefore = openFds(pid());
  let closedByServer = 0;
  const slow: Socket[] = [];
  const trickle = setInterval(() => {
    for (const socket of slow) if (!socket.destroyed) socket.write('a');
  }, 1000);
  try {
    for (let i = 0; i < count; i++) {
      const socket = connect(instance.port, '127.0.0.1', () => socket.write(`GET /values/slow${i} HTTP/1.1\r\nHost: x\r\nX-Slow: `));
      socket.on('error', () => {});
      socket.on('close', () => closedByServer++);
      slow.push(socket);
    }
    await settle(() => openFds(pid()) - fdsBefore, (n) => n >= count * 0.9, 10_000);
    t.diagnostic(`server fds with the slow connections open: ${openFds(pid())} (${fdsBefore} before)`);
    // While they hang: a steady stream of normal requests, every one answered.
    let answered = 0;
    for (let i = 0; i < 40; i++) {
      const put = await call(`${instance.url}/values/during-slowloris`, { method: 'PUT', body: String(i) });
      assert.equal(put.status, 200);
      const get = await call(`${instance.url}/values/during-slowloris`);
      assert.equal(get.json.value, String(i));
      answered += 2;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.diagnostic(`${answered} normal requests answered while the slow connections hung`);
    // uWS closes a connection whose request head is not complete within its idle timeout, trickle or not.
    await settle(() => closedByServer, (n) => n === count, 60_000);
    t.diagnostic(`${closedByServer} of ${count} slow connections closed by the server`);
    assert.equal(closedByServer, count, 'the server closed every slow connection on its own');
  } finally {
    clearInterval(trickle);
    for (const socket of slow) socket.destroy();
  }
  await assertStillServing('after-slowloris');
});

test('/events: garbage and oversized frames, hundreds of rapid connects and disconnects; other sockets keep receiving', async (t) => {
  const rng = new Random(SEED ^ 0x5eed);
  const observer = await openEvents(instance.url, '?prefix=watched/');
  await observer.next((f) => f.type === 'hello');
  let garbageClosed = 0;
  for (let round = 0; round < 10; round++) {
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const socket = await rawWebSocket(instance.port);
        socket.on('error', () => {});
        const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
        socket.write(garbageFrames(rng));
        await Promise.race([closed.then(() => garbageClosed++), new Promise((r) => setTimeout(r, 1000))]);
        socket.destroy();
      }),
    );
    await call(`${instance.url}/values/watched/${round}`, { method: 'PUT', body: `round ${round}` });
  }
  t.diagnostic(`200 sockets sent garbage; ${garbageClosed} were closed by the server`);

  let opened = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 50; i++) {
        const ws = new WebSocket(`${instance.url.replace('http', 'ws')}/events`);
        ws.on('error', () => {});
        if (i % 3 === 0) {
          ws.terminate(); // gone before or during the handshake
          continue;
        }
        await new Promise<void>((resolve) => {
          ws.once('open', () => {
            opened++;
            if (i % 2 === 0) ws.terminate();
            else ws.close();
          });
          ws.once('close', () => resolve());
        });
      }
    }),
  );
  t.diagnostic(`400 rapid connects (${opened} completed the handshake)`);
  await call(`${instance.url}/values/watched/last`, { method: 'PUT', body: 'still here' });
  await observer.next((f) => f.type === 'value.put' && f.key === 'watched/last');
  const rounds = observer.changes().filter((f) => /^watched\/\d$/.test(f.key)).map((f) => f.key);
  assert.deepEqual(rounds, Array.from({ length: 10 }, (_, i) => `watched/${i}`), 'the observer saw every change in between');
  assert.equal(observer.ws.readyState, WebSocket.OPEN);
  observer.close();
  await assertStillServing('after-ws');
});

function softFdLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))!;
  return Number(line.split(/\s{2,}/)[1]);
}

async function settle<T>(observe: () => T, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = observe();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = observe();
  }
  return value;
}
