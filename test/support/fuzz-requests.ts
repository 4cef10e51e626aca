import type { Random } from './random.js';

/** One connection's worth of bytes, how they are cut into writes, and how the client leaves. */
export interface FuzzCase {
  readonly writes: Buffer[];
  /** end: half-close after writing; linger: wait for answers, then drop; truncate: drop mid-request. */
  readonly leave: 'end' | 'linger' | 'truncate';
}

const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'get', 'PuT', 'BREW', 'G\u00c9T', ''];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1 extra', 'http/1.1', ''];
const PATHS = ['/', '/values', '/values/', '/values/a', '/events', '/metrics', '/healthz', '/readyz', '//', '/values//', '*', 'http://h/values/a', '/%', '/values/%zz', '/values/%C0%AF', '/values/%ED%A0%80', '/values/%00', '/../../etc/passwd'];
const HEADER_NAMES = ['Host', 'Content-Length', 'Transfer-Encoding', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'Prefer', 'Authorization', 'Accept', 'Connection', 'Upgrade', 'Sec-WebSocket-Key', 'Expect', 'X-Junk'];
const LIMIT_VALUE = 1024 * 1024;
const TAME_METHODS = ['GET', 'GET', 'HEAD', 'PUT', 'PUT', 'DELETE', 'POST'];
const TAME_HEADERS = ['If-Match', 'If-None-Match', 'Idempotency-Key', 'Prefer', 'Accept', 'Authorization', 'X-Junk'];

/** Builds one randomized request stream: mostly almost-valid, so the parser gets past the first line. */
export function fuzzCase(rng: Random): FuzzCase {
  const requests = rng.chance(0.15) ? rng.int(2, 6) : 1;
  const parts: Buffer[] = [];
  for (let i = 0; i < requests; i++) parts.push(rng.chance(0.05) ? rng.bytes(rng.size(512)) : request(rng));
  const stream = Buffer.concat(parts);
  const leave = rng.pick(['end', 'linger', 'linger', 'truncate'] as const);
  const cut = leave === 'truncate' ? stream.subarray(0, rng.int(0, Math.max(0, stream.length - 1))) : stream;
  return { writes: split(rng, cut), leave };
}

function request(rng: Random): Buffer {
  return rng.chance(0.5) ? tameRequest(rng) : wildRequest(rng);
}

/** Well framed, so it reaches the routes: the fuzz is in the path, the header values and the body. */
function tameRequest(rng: Random): Buffer {
  const body = rng.chance(0.7) ? Buffer.alloc(0) : bodyOf(rng, rng.chance(0.9) ? 2048 : LIMIT_VALUE);
  const lines = [`${rng.pick(TAME_METHODS)} ${path(rng)} HTTP/1.1`, 'Host: fuzz', `Content-Length: ${body.length}`];
  for (let n = rng.int(0, 3); n > 0; n--) lines.push(`${rng.pick(TAME_HEADERS)}: ${printable(rng, rng.int(0, 60))}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function wildRequest(rng: Random): Buffer {
  const body = bodyOf(rng, LIMIT_VALUE);
  const lines = [`${rng.pick(METHODS)} ${path(rng)} ${rng.pick(VERSIONS)}`.trimEnd()];
  if (rng.chance(0.9)) lines.push('Host: fuzz');
  const chunked = rng.chance(0.1);
  if (chunked) lines.push('Transfer-Encoding: chunked');
  else if (rng.chance(0.85)) lines.push(`Content-Length: ${contentLength(rng, body.length)}`);
  for (let n = headerCount(rng); n > 0; n--) lines.push(header(rng));
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return Buffer.concat([head, chunked ? chunk(rng, body) : body]);
}

function printable(rng: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(rng.int(0x20, 0x7e));
  return out.trim();
}

function path(rng: Random): string {
  const roll = rng.next();
  if (roll < 0.3) return rng.pick(PATHS);
  if (roll < 0.6) return `/values/${percentEncoded(rng, rng.size(1024))}`;
  if (roll < 0.75) return `/values/${rng.bytes(rng.int(1, 64)).toString('latin1').replace(/[\s]/g, '_')}`;
  if (roll < 0.9) return `/values?prefix=${percentEncoded(rng, rng.int(0, 40))}&limit=${rng.pick(['', '0', '1', '1000', '1001', '-1', 'abc', '99999999999999999999'])}&after=${percentEncoded(rng, rng.int(0, 20))}`;
  return `/${'a/'.repeat(rng.int(1, 3000))}`;
}

function percentEncoded(rng: Random, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) {
    const roll = rng.next();
    if (roll < 0.6) out += String.fromCharCode(rng.int(0x61, 0x7a));
    else if (roll < 0.9) out += `%${rng.int(0, 255).toString(16).padStart(2, '0')}`;
    else if (roll < 0.95) out += rng.pick(['%', '%f', '%G0', '/', '?', '#', '+']);
    else out += encodeURIComponent(String.fromCodePoint(rng.int(0x80, 0x10ffff - 0x800)).replace(/[\ud800-\udfff]/gu, 'x'));
  }
  return out;
}

function contentLength(rng: Random, actual: number): string {
  const roll = rng.next();
  if (roll < 0.75) return String(actual);
  return rng.pick([String(actual + rng.int(1, 100)), String(Math.max(0, actual - 1)), '-1', 'abc', '99999999999999999999', `${actual}, ${actual}`, String(LIMIT_VALUE * 64), ' ', '0x10']);
}

function headerCount(rng: Random): number {
  const roll = rng.next();
  if (roll < 0.8) return rng.int(0, 4);
  if (roll < 0.95) return rng.int(5, 60);
  return rng.int(61, 400);
}

function header(rng: Random): string {
  const name = rng.chance(0.9) ? rng.pick(HEADER_NAMES) : rng.bytes(rng.int(0, 20)).toString('latin1').replace(/[\r\n]/g, '');
  const length = rng.chance(0.9) ? rng.int(0, 80) : rng.int(1000, 20_000);
  const value = rng.chance(0.8) ? printable(rng, length) : rng.bytes(length).toString('latin1');
  return `${name}: ${rng.chance(0.02) ? value.replace(/./, '\r\n') : value.replace(/[\r\n]/g, ' ')}`;
}

function bodyOf(rng: Random, around: number): Buffer {
  const size = rng.size(around);
  const roll = rng.next();
  if (roll < 0.4) return Buffer.from('x'.repeat(size));
  if (roll < 0.6) return rng.bytes(size);
  if (roll < 0.8) return Buffer.from('é😀\u2028'.repeat(Math.ceil(size / 9))).subarray(0, size);
  if (roll < 0.9) return Buffer.alloc(size);
  return Buffer.from('\ufeff' + 'a'.repeat(size));
}

function chunk(rng: Random, body: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < body.length; ) {
    const length = Math.min(body.length - offset, rng.int(1, 70_000));
    const size = rng.chance(0.95) ? length.toString(16) : rng.pick(['zz', '-1', 'ffffffffffffffff', '']);
    parts.push(Buffer.from(`${size}\r\n`), body.subarray(offset, offset + length), Buffer.from('\r\n'));
    offset += length;
  }
  parts.push(Buffer.from(rng.chance(0.9) ? '0\r\n\r\n' : '0\r\n'));
  return Buffer.concat(parts);
}

/** Writes in random pieces, down to single bytes, so that every parser state sees a boundary. */
function split(rng: Random, data: Buffer): Buffer[] {
  if (rng.chance(0.6) || data.length === 0) return [data];
  const writes: Buffer[] = [];
  for (let offset = 0; offset < data.length && writes.length < 64; ) {
    const length = writes.length === 63 ? data.length - offset : rng.int(1, Math.max(1, Math.ceil(data.length / 4)));
    writes.push(data.subarray(offset, offset + length));
    offset += length;
  }
  return writes;
}
