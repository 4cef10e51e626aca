// The ceiling for this stack: uWebSockets.js answering every GET with a fixed body of the size
// driftkv answers for a seeded key, with the same headers, and no other work.
//   node bench/baseline/bare-uws.js   (prints {"port":N} once listening)
import uWS, { type HttpRequest, type HttpResponse } from 'uWebSockets.js';
import { ReadHeaders } from '../../src/http/exchange.js';

// BARE_MODE=strings passes status, headers and body as JS strings (the plain way to write it, each
// converted to UTF-8 by uWS on every call); by default they are bytes, the fastest this stack answers.
// BARE_MODE=required makes only the uWS calls that any correct GET of a key must make, and no
// lookup: driftkv's route table, the key read from the path parameter, If-None-Match read, and the
// ETag and body handed over as views of a larger buffer, as a store of many answers must. The gap
// between this and the default is the stack's own cost of a real read, which no code in the
// handler can win back.
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
const app = uWS.App();
if (mode === 'required') required(app);
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

function required(app: uWS.TemplatedApp): void {
  // One stored answer, `"<revision>"{body}`, somewhere inside a slab, as driftkv keeps them.
  const slab = Buffer.allocUnsafeSlow(4 * 1024 * 1024);
  const stored = Buffer.from(ETAG + body);
  const at = 1000;
  stored.copy(slab, at);
  const etagLength = ETAG.length;
  // One header name carrying X-Instance, X-Revision, Content-Type and the ETag's name: driftkv's own header bytes.
  const readHeaders = new ReadHeaders('driftkv-a').at(100000);
  const ifNoneMatch = Buffer.from('if-none-match');
  let keyBytes = 0;
  const get = (res: HttpResponse, req: HttpRequest) => {
    keyBytes += req.getParameter(0)!.length;
    if (req.getHeader(ifNoneMatch) !== '') keyBytes++;
    res.writeHeader(readHeaders, new Uint8Array(slab.buffer, at, etagLength)).end(new Uint8Array(slab.buffer, at + etagLength, stored.length - etagLength));
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
