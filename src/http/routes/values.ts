import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import type { Config } from '../../config.js';
import type { Command } from '../../domain/commands.js';
import type { Change, Outcome } from '../../domain/events.js';
import { DriftError } from '../../domain/errors.js';
import { hashKeyWithout } from '../../domain/answer-table.js';
import { etagLength, revisionOf, type Keyspace } from '../../domain/keyspace.js';
import type { WriteResult, Writer } from '../../writes/writer.js';
import { commandId } from '../command-id.js';
import { LATER, type Exchange, type ReadHeaders, type Reply } from '../exchange.js';
import {
  etagMatches,
  parseContentLength,
  parseIdempotencyKey,
  parseKey,
  parseLimit,
  parsePrecondition,
  parseQuery,
  parseValue,
  prefersAsync,
} from '../request.js';

const PREFIX = '/values/';
/** A header name as bytes: a string argument costs uWS a conversion on every request. */
const IF_NONE_MATCH = Buffer.from('if-none-match');
const IF_MATCH = Buffer.from('if-match');
const IDEMPOTENCY_KEY = Buffer.from('idempotency-key');
const PREFER = Buffer.from('prefer');
const CONTENT_LENGTH = Buffer.from('content-length');
const PERCENT = 0x25;
const REPLACEMENT = 0xfffd;
const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;

export interface ValuesDeps {
  readonly keyspace: Keyspace;
  readonly writer: Writer;
  readonly config: Config;
  readonly readHeaders: ReadHeaders;
}

/** GET /values/{key}: answered from memory, synchronously. */
export function getValue(deps: ValuesDeps, _ex: Exchange, req: HttpRequest): Reply {
  const key = parseKey(req.getUrl().slice(PREFIX.length), deps.config.maxKeyBytes);
  const answer = deps.keyspace.answer(key);
  if (answer === undefined) throw new DriftError('not_found', 'no value is stored under this key', { key });
  const cut = etagLength(answer);
  const etag = answer.slice(0, cut);
  const ifNoneMatch = req.getHeader('if-none-match');
  if (ifNoneMatch && etagMatches(ifNoneMatch, revisionOf(answer))) return { status: 304, headers: { ETag: etag } };
  return { status: 200, headers: { ETag: etag }, body: answer.slice(cut) };
}

/**
 * The common read, a plain GET of a stored key whose path needs no percent-decoding, answered
 * from the entry's precomputed answer (views of its stored bytes), with no parsing or encoding. Anything
 * else (a miss, an escape, a condition) returns false and takes getValue's general path.
 * `single`: the route matched /values/:key, whose parameter is the raw key, handed over by uWS
 * as a flat string (a slice of the URL is read through its parent on every character access).
 */
export function readFromMemory(deps: ValuesDeps, res: HttpResponse, req: HttpRequest, single = false): boolean {
  const raw = single ? req.getParameter(0) : req.getUrl().slice(PREFIX.length);
  if (raw === undefined) return false;
  // Without '%' decoding changes nothing; a raw U+FFFD stands for an invalid byte (parseKey refuses it).
  const hash = hashKeyWithout(raw, PERCENT, REPLACEMENT);
  if (hash < 0) return false;
  const location = deps.keyspace.locate(raw, hash);
  // A stored key passed parseKey when written; only its length limit may have been lowered since.
  if (location < 0 || (raw.length * 3 > deps.config.maxKeyBytes && Buffer.byteLength(raw) > deps.config.maxKeyBytes)) return false;
  if (req.getHeader(IF_NONE_MATCH) !== '') return false;
  // A 200 written inside uWS's request callback, which corks it: nothing is left pending, so neither
  // onAborted nor an Exchange is needed. The headers are those of Exchange.reply, in the same order.
  deps.keyspace.writeAt(location, res, deps.readHeaders.at(deps.keyspace.revision));
  return true;
}

/** GET /values?prefix=&limit=&after=: one page of keys in byte order. */
export function listValues(deps: ValuesDeps, _ex: Exchange, req: HttpRequest): Reply {
  const query = parseQuery(req.getQuery() ?? '');
  const limit = parseLimit(query.get('limit'), PAGE_DEFAULT, PAGE_MAX);
  const page = deps.keyspace.page({ prefix: query.get('prefix') ?? '', after: query.get('after') || undefined, limit });
  return { status: 200, body: JSON.stringify({ items: page.items, next: page.next, revision: deps.keyspace.revision }) };
}

/**
 * PUT /values/{key}: the body, then the write, then the answer, each step a callback of the one
 * before (no promise per step: this is the path every write takes).
 */
export function putValue(deps: ValuesDeps, ex: Exchange, req: HttpRequest): typeof LATER {
  // Everything from req is read now: uWS invalidates it after this callback.
  const key = parseKey(req.getUrl().slice(PREFIX.length), deps.config.maxKeyBytes);
  const head = writeHeaders(req);
  ex.readBody(deps.config.maxValueBytes, parseContentLength(req.getHeader(CONTENT_LENGTH)), (body) => {
    const command: Command = { type: 'PutValue', commandId: head.commandId, key, value: parseValue(body), precondition: head.precondition };
    submit(deps, ex, command, head.respondAsync);
  });
  return LATER;
}

export function deleteValue(deps: ValuesDeps, ex: Exchange, req: HttpRequest): typeof LATER {
  const key = parseKey(req.getUrl().slice(PREFIX.length), deps.config.maxKeyBytes);
  const head = writeHeaders(req);
  submit(deps, ex, { type: 'DeleteValue', commandId: head.commandId, key, precondition: head.precondition }, head.respondAsync);
  return LATER;
}

function submit(deps: ValuesDeps, ex: Exchange, command: Command, respondAsync: boolean): void {
  deps.writer.submit(command, respondAsync, (result, error) => {
    if (result) ex.answer(() => writeReply(deps.keyspace, command, result));
    else ex.fail(error);
  });
}

/**
 * Whether `outcome`, the outcome of the first request that used this command id (the
 * Idempotency-Key), cannot be this request's: another key, a PUT told "nothing to delete", or a
 * write of something else, known from the `change` that carried a fresh outcome, from what a
 * replayed one `wrote` (read back from the change log), or else from the keyspace while it still
 * holds the replay's revision (with another value than this PUT's, or at all for a DELETE: a
 * delete leaves no value at its revision). Answering it as this request's would acknowledge a
 * write that was never made. A replay whose change has left the log and whose revision has been
 * overwritten cannot be told apart, and is answered with the first outcome.
 */
function reusedFor(keyspace: Keyspace, command: Command, outcome: Outcome, change: Change | undefined, replay: boolean): boolean {
  if (outcome.key !== command.key) return true;
  if (outcome.status === 'not_found') return command.type !== 'DeleteValue';
  // What this request would write, in the form a change's and `wrote` have: the value, or null for a delete.
  const asked = command.type === 'PutValue' ? command.value : null;
  if (change) return (change.type === 'value.put' ? change.value : null) !== asked;
  if (outcome.status !== 'applied' || !replay) return false;
  if (outcome.wrote !== undefined) return outcome.wrote !== asked;
  const stored = keyspace.get(command.key);
  return stored !== undefined && stored.revision === outcome.revision && stored.value !== asked;
}

function writeHeaders(req: HttpRequest) {
  return {
    commandId: parseIdempotencyKey(req.getHeader(IDEMPOTENCY_KEY)) ?? commandId(),
    precondition: parsePrecondition(req.getHeader(IF_MATCH), req.getHeader(IF_NONE_MATCH)),
    respondAsync: prefersAsync(req.getHeader(PREFER)),
  };
}

/** DriftPHP-compatible bodies, plus the revision the write produced. */
function writeReply(keyspace: Keyspace, command: Command, result: WriteResult): Reply {
  const { key } = command;
  if (result.kind === 'accepted') {
    return { status: 202, body: JSON.stringify({ key, message: 'Accepted', commandId: result.commandId }) };
  }
  const outcome = result.outcome;
  if (reusedFor(keyspace, command, outcome, result.change, result.replay === true)) {
    throw new DriftError('idempotency_key_reused', 'this Idempotency-Key was first used for a different request, whose outcome stands; this one was not applied', {
      key,
      idempotencyKey: command.commandId,
    });
  }
  switch (outcome.status) {
    case 'applied': {
      const headers = { ETag: `"${outcome.revision}"` };
      return command.type === 'PutValue'
        ? { status: 200, headers, body: JSON.stringify({ key, value: command.value, message: 'OK', revision: outcome.revision }) }
        : { status: 200, body: JSON.stringify({ key, message: '1', revision: outcome.revision }) };
    }
    case 'not_found':
      return { status: 200, body: JSON.stringify({ key, message: '0' }) };
    case 'precondition_failed':
      throw new DriftError('precondition_failed', 'the precondition (If-Match / If-None-Match) does not hold', {
        key,
        revision: outcome.current,
      });
    default: {
      const unreachable: never = outcome;
      throw new Error(`unknown outcome ${JSON.stringify(unreachable)}`);
    }
  }
}
