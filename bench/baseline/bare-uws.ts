// The ceiling for this stack: uWebSockets.js answering every GET with a fixed body of the size
// driftkv answers for a seeded key, with the same headers, and no other work.
//   node bench/baseline/bare-uws.js   (prints {"port":N} once listening)
import uWS from 'uWebSockets.js';

// BARE_STRINGS=1 passes status, headers and body as JS strings (the plain way to write it, each
// converted to UTF-8 by uWS on every call); by default they are bytes, the fastest this stack answers.
const asStrings = process.env.BARE_STRINGS === '1';
const bytes = (s: string) => (asStrings ? s : Buffer.from(s));
const answer = {
  status: bytes('200 OK'),
  headers: [
    [bytes('X-Instance'), bytes('driftkv-a')],
    [bytes('X-Revision'), bytes('100000')],
    [bytes('Content-Type'), bytes('application/json')],
    [bytes('ETag'), bytes('"12345"')],
  ] as const,
  body: bytes(JSON.stringify({ key: 'bench:00000001', value: 'x'.repeat(100) })),
};
const [instance, revision, contentType, etag] = answer.headers;
const app = uWS.App();
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
app.listen('127.0.0.1', Number(process.env.PORT ?? 0), (socket) => {
  if (!socket) process.exit(1);
  console.log(JSON.stringify({ port: uWS.us_socket_local_port(socket) }));
});
process.on('SIGTERM', () => process.exit(0));
