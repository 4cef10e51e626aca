import type { Precondition } from '../domain/commands.js';
import { DriftError } from '../domain/errors.js';

// C0 controls, DEL and C1 controls: invisible in logs and terminals, and never part of a sane key.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The key is the percent-decoded rest of the path (slashes allowed), 1..maxBytes bytes of UTF-8. */
export function parseKey(raw: string, maxBytes: number): string {
  const key = decode(raw, 'invalid_key', 'the key is not valid percent-encoded UTF-8');
  const bytes = Buffer.byteLength(key);
  if (bytes === 0) throw new DriftError('invalid_key', 'the key is empty');
  if (bytes > maxBytes) throw new DriftError('invalid_key', `the key is longer than ${maxBytes} bytes`, { limit: maxBytes });
  if (CONTROL.test(key)) throw new DriftError('invalid_key', 'the key contains a control character');
  return key;
}

/** The raw body as a string; PostgreSQL text cannot hold U+0000, so that is refused here rather than lost later. */
export function parseValue(body: Uint8Array): string {
  let value: string;
  try {
    value = utf8.decode(body);
  } catch {
    throw new DriftError('invalid_value', 'the value is not valid UTF-8');
  }
  if (value.includes('\u0000')) throw new DriftError('invalid_value', 'the value contains U+0000, which cannot be stored');
  return value;
}

/** Strict query-string parsing: a malformed escape is an error, not a silently mangled prefix. */
export function parseQuery(raw: string): Map<string, string> {
  const params = new Map<string, string>();
  if (!raw) return params;
  for (const part of raw.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = decode((eq < 0 ? part : part.slice(0, eq)).replaceAll('+', ' '), 'invalid_query', 'the query string is not valid percent-encoded UTF-8');
    const value = eq < 0 ? '' : decode(part.slice(eq + 1).replaceAll('+', ' '), 'invalid_query', 'the query string is not valid percent-encoded UTF-8');
    params.set(name, value);
  }
  return params;
}

export function parseLimit(raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > max) {
    throw new DriftError('invalid_query', `limit must be a whole number from 1 to ${max}`);
  }
  return limit;
}

/** If-Match: "<revision>" (compare-and-set) or *; If-None-Match: * (create only). RFC 9110 §13.1. */
export function parsePrecondition(ifMatch: string, ifNoneMatch: string): Precondition | undefined {
  if (ifMatch && ifNoneMatch) throw new DriftError('invalid_header', 'send If-Match or If-None-Match, not both');
  if (ifNoneMatch) {
    if (ifNoneMatch.trim() !== '*') throw new DriftError('invalid_header', 'on a write, If-None-Match takes only *');
    return { kind: 'absent' };
  }
  if (!ifMatch) return undefined;
  if (ifMatch.trim() === '*') return { kind: 'exists' };
  const revision = parseEtag(ifMatch.trim());
  if (revision === undefined) throw new DriftError('invalid_header', 'If-Match takes one entity tag, "<revision>", or *');
  return { kind: 'revision', revision };
}

/** Whether a GET's If-None-Match (a list of tags, or *) matches the current revision. */
export function etagMatches(ifNoneMatch: string, revision: number): boolean {
  const wanted = ifNoneMatch.trim();
  if (wanted === '*') return true;
  return wanted.split(',').some((tag) => parseEtag(tag.trim().replace(/^W\//, '')) === revision);
}

export function parseEtag(tag: string): number | undefined {
  const match = /^"?(\d{1,15})"?$/.exec(tag);
  return match ? Number(match[1]) : undefined;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

export function parseIdempotencyKey(raw: string): string | undefined {
  if (!raw) return undefined;
  if (!IDEMPOTENCY_KEY.test(raw)) throw new DriftError('invalid_header', 'Idempotency-Key must be 1 to 200 visible ASCII characters');
  return raw;
}

export function parseContentLength(raw: string): number | undefined {
  if (!raw) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new DriftError('invalid_header', 'Content-Length is not a number');
  return Number(raw);
}

/** RFC 7240: Prefer may carry several comma-separated preferences. */
export function prefersAsync(prefer: string): boolean {
  if (prefer === '') return false;
  return prefer.split(',').some((p) => p.trim().toLowerCase() === 'respond-async');
}

function decode(raw: string, code: 'invalid_key' | 'invalid_query', message: string): string {
  // uWS hands over the URL already decoded from UTF-8, with every invalid byte turned into U+FFFD:
  // a raw U+FFFD may be such a byte, so it must be percent-encoded to be taken for itself.
  if (raw.includes('\uFFFD')) throw new DriftError(code, message);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new DriftError(code, message);
  }
}
