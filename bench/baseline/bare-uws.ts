// The ceiling for this stack: uWebSockets.js answering every GET with a fixed body of the size
// driftkv answers for a seeded key, with the same headers, and no other work.
//   node bench/baseline/bare-uws.js   (prints {"port":N} once listening)
import uWS, { type HttpRequest, type HttpResponse } from 'uWebSockets.js';
import { ReadHeaders } from '../../src/http/exchange.js';
import { answerOf, etagLength } from '../../src/domain/keyspace.js';
import { benchKey } from '../lib/keys.js';

// BARE_MODE=strings passes status, headers and body as JS strings (the plain way to write it, each
// converted to UTF-8 by uWS on every call); by default they are bytes, the fastest this stack answers.
// BARE_MODE=required makes only the uWS calls that any correct GET of a key must make, and no
// lookup: driftkv's route table, the key read from the path parameter, If-None-Match read, and the
// ETag and body handed over as views of a larger buffer, as a store of many answers must. The gap
// between this and the default is the stack's own cost of a real read, which no code in the
// handler can win back. BARE_MODE=memory makes the same calls, but answers the key's own answer
// among BARE_KEYS (default 100,000) held as driftkv holds them after a load, in key order in 4 MiB
// slabs, each after a 12-byte header, found from the key's number through an array of locations
// (no hash, no key compare): what reading one of many stored answers costs in memory alone. BARE_MODE=map is the
// straightforward server: the same keys and values in a Map of strings, the body made with
// JSON.stringify and the headers written as strings on every request.
const mode = process.env.BARE_MODE ?? 'bytes';
const bytes = (s: string) => (mode === 'strings' ? s : Buffer.from(s));
const body = JSON.stringify({ key: 'bench:00000001', value: 'x'.repeat(100) });
const ETAG = '"12345"';
const answer = {
  status: bytes('200 OK'),
  headers: [
    [bytes('X-Instance'), bytes('driftkv-a')],
    [bytes('X-Revision'), bytes('100000')],
    [bytes('Content-Type'), bytes('application/json')],
    [bytes('ETag'), bytes(ETAG)],
  ] as const,
  body: bytes(body),
};
const [instance, revision, contentType, etag] = answer.headers;
const keys = Number(process.env.BARE_KEYS ?? 100_000);
const app = uWS.App();
if (mode === 'required') required(app, fixedAnswer());
else if (mode === 'memory') required(app, storedAnswers(keys));
else if (mode === 'map') straightforward(app, keys);
else {
  // Written inside the request callback, which uWS corks by itself.
  app.get('/*', (res) => {
    res
      .writeStatus(answer.status)
      .writeHeader(instance[0], instance[1])
      .writeHeader(revision[0], revision[1])
      .writeHeader(contentType[0], contentType[1])
      .writeHeader(etag[0], etag[1])
      .end(answer.body);
  });
}
app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (!socket) process.exit(1);
  console.log(JSON.stringify({ port: uWS.us_socket_local_port(socket) }));
});
process.on('SIGTERM', () => process.exit(0));

/** Hands uWS the ETag and the body of the answer a request asks for, as views of a slab. */
type Answerer = (key: string, res: HttpResponse, headers: Buffer) => void;

/** One stored answer, `"<revision>"{body}`, somewhere inside a slab, as driftkv keeps them. */
function fixedAnswer(): Answerer {
  const slab = Buffer.allocUnsafeSlow(4 * 1024 * 1024);
  const stored = Buffer.from(ETAG + body);
  const at = 1000;
  stored.copy(slab, at);
  const etagLength = ETAG.length;
  return (_key, res, headers) => {
    res.writeHeader(headers, new Uint8Array(slab.buffer, at, etagLength)).end(new Uint8Array(slab.buffer, at + etagLength, stored.length - etagLength));
  };
}

/**
 * `count` answers (answerOf) shaped as the bench seeds them (benchKey, 100-byte values), one
 * after another in 4 MiB slabs, each after a header of three words (entry number, length, ETag
 * length) and padded to 8 bytes, as src/domain/answer-table.ts lays them out; per key its
 * location (slab, offset). The key `bench:<8 digits>` names it: its digits are read as a number.
 */
function storedAnswers(count: number): Answerer {
  const SLAB = 4 * 1024 * 1024;
  const HEADER = 12;
  const slabs: ArrayBuffer[] = [];
  const words: Uint32Array[] = [];
  const locations = new Uint32Array(count + 1);
  let slab = Buffer.allocUnsafeSlow(SLAB);
  let used = 0;
  const open = () => {
    slabs.push(slab.buffer);
    words.push(new Uint32Array(slab.buffer, slab.byteOffset, SLAB / 4));
  };
  open();
  for (let i = 1; i <= count; i++) {
    const text = answerOf(benchKey(i), 'x'.repeat(100), i);
    const answer = Buffer.from(text);
    const space = Math.ceil((HEADER + answer.length) / 8) * 8;
    if (used + space > SLAB) {
      slab = Buffer.allocUnsafeSlow(SLAB);
      open();
      used = 0;
    }
    words[slabs.length - 1]!.set([i, answer.length, etagLength(text) << 24], used / 4);
    answer.copy(slab, used + HEADER);
    locations[i] = (((slabs.length - 1) << 19) | (used / 8)) >>> 0;
    used += space;
  }
  return (key, res, headers) => {
    let i = 0;
    for (let c = key.length - 8; c < key.length; c++) i = i * 10 + key.charCodeAt(c) - 48;
    if (!(i >= 1 && i <= count)) i = 1;
    const location = locations[i]!;
    const at = (location & 0x7ffff) * 8;
    const header = words[location >>> 19]!;
    const length = header[at / 4 + 1]!;
    const etag = header[at / 4 + 2]! >>> 24;
    const buffer = slabs[location >>> 19]!;
    res.writeHeader(headers, new Uint8Array(buffer, at + HEADER, etag)).end(new Uint8Array(buffer, at + HEADER + etag, length - etag));
  };
}

/** A Map lookup and JSON.stringify per request, with driftkv's headers, as strings. */
function straightforward(app: uWS.TemplatedApp, count: number): void {
  const values = new Map<string, { value: string; revision: number }>();
  for (let i = 1; i <= count; i++) values.set(benchKey(i), { value: 'x'.repeat(100), revision: i });
  app.get('/values/:key', (res, req) => {
    const key = req.getParameter(0)!;
    const entry = values.get(key);
    if (entry === undefined) return void res.writeStatus('404 Not Found').end();
    if (req.getHeader('if-none-match') === `"${entry.revision}"`) return void res.writeStatus('304 Not Modified').end();
    res
      .writeHeader('X-Instance', 'driftkv-a')
      .writeHeader('X-Revision', String(count))
      .writeHeader('Content-Type', 'application/json')
      .writeHeader('ETag', `"${entry.revision}"`)
      .end(JSON.stringify({ key, value: entry.value }));
  });
}

function required(app: uWS.TemplatedApp, reply: Answerer): void {
  // One header name carrying X-Instance, X-Revision, Content-Type and the ETag's name: driftkv's own header bytes.
  const readHeaders = new ReadHeaders('driftkv-a').at(100000);
  const ifNoneMatch = Buffer.from('if-none-match');
  let keyBytes = 0;
  const get = (res: HttpResponse, req: HttpRequest) => {
    const key = req.getParameter(0)!;
    keyBytes += key.length;
    if (req.getHeader(ifNoneMatch) !== '') keyBytes++;
    reply(key, res, readHeaders);
  };
  const other = (res: HttpResponse): void => void res.writeStatus('405 Method Not Allowed').end();
  // The same routes as src/http/server.ts, in the same order: the router's cost grows with them.
  app
    .get('/values/:key', get)
    .get('/values/*', other)
    .head('/values/*', other)
    .put('/values/*', other)
    .del('/values/*', other)
    .any('/values/*', other)
    .get('/values', other)
    .any('/values', other)
    .get('/', other)
    .get('/healthz', other)
    .get('/readyz', other)
    .get('/metrics', other)
    .any('/', other)
    .any('/healthz', other)
    .any('/readyz', other)
    .any('/metrics', other)
    .any('/*', other);
}
