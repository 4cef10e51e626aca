import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: string;
}

/**
 * Writes bytes as they are onto one connection and reads until the server closes it: for what
 * fetch will not send (invalid bytes in the URL, pipelined requests, HEAD framing, a body never sent).
 */
export function rawExchange(port: number, request: Buffer | string, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; received ${JSON.stringify(Buffer.concat(chunks).toString())}`));
    }, timeoutMs);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {}); // a reset after the answer is still an answer; "close" follows
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
}

/**
 * Splits a stream of HTTP/1.1 responses by their Content-Length; a HEAD or 304 answer has none
 * on the wire, whatever its headers say, so the caller names which ones they are.
 */
export function parseResponses(data: Buffer, bodiless: (index: number, status: number) => boolean = (_i, s) => s === 304): RawResponse[] {
  const responses: RawResponse[] = [];
  let offset = 0;
  while (offset < data.length) {
    const end = data.indexOf('\r\n\r\n', offset);
    if (end < 0) throw new Error(`truncated response head: ${JSON.stringify(data.subarray(offset).toString())}`);
    const [statusLine, ...lines] = data.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(statusLine!)?.[1]);
    if (!status) throw new Error(`not a status line: ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).toLowerCase();
      if (headers.has(name)) throw new Error(`header ${name} sent twice`);
      headers.set(name, line.slice(colon + 1).trim());
    }
    const length = bodiless(responses.length, status) ? 0 : Number(headers.get('content-length') ?? 0);
    const body = data.subarray(end + 4, end + 4 + length);
    if (body.length < length) throw new Error('truncated response body');
    responses.push({ status, headers, body: body.toString('utf8') });
    offset = end + 4 + length;
  }
  return responses;
}
