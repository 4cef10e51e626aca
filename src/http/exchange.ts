import type { HttpResponse } from 'uWebSockets.js';
import { DriftError } from '../domain/errors.js';

function onlyEtag(headers: Readonly<Record<string, string>>): boolean {
  for (const name in headers) if (name !== 'ETag') return false;
  return true;
}

/** What a handler returns when it answers later, through `Exchange.answer` or `Exchange.fail`. */
export const LATER = Symbol('answered later');

export interface Reply {
  readonly status: number;
  readonly body?: string;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Close the connection after answering (an unread request body is still on the wire). */
  readonly close?: boolean;
}

const STATUS_LINE: Record<number, string> = {
  200: '200 OK',
  202: '202 Accepted',
  304: '304 Not Modified',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  405: '405 Method Not Allowed',
  412: '412 Precondition Failed',
  413: '413 Content Too Large',
  500: '500 Internal Server Error',
  503: '503 Service Unavailable',
};

/**
 * The headers every read answer carries before its ETag (X-Instance, X-Revision, Content-Type),
 * then the ETag's own name, as one buffer passed as a header *name*: uWS writes a header as
 * `name: value\r\n` verbatim, so one call with the key's ETag as the value writes all four, and
 * the status line defaults to 200 OK. Each argument handed to uWS costs a native conversion
 * (a backing-store lookup per buffer): a read makes three (this, the ETag, the body) where writing
 * status and headers one by one made six. Safe because config accepts only visible ASCII in
 * INSTANCE_ID. Rebuilt only when the applied revision moves, not per request.
 */
export class ReadHeaders {
  private revision = -1;
  private bytes = Buffer.alloc(0);

  constructor(private readonly instance: string) {}

  at(revision: number): Buffer {
    if (revision !== this.revision) {
      this.revision = revision;
      this.bytes = Buffer.from(`X-Instance: ${this.instance}\r\nX-Revision: ${revision}\r\nContent-Type: application/json\r\nETag`);
    }
    return this.bytes;
  }
}

/**
 * One HTTP request/response pair. This module is the only place that touches uWS's response rules:
 * onAborted registered first, every late write corked and skipped once aborted, body chunks read
 * within their callback or copied (uWS reuses their memory after it) and bounded while they arrive.
 */
export class Exchange {
  private aborted = false;
  private answered = false;
  private onAbort: (() => void) | undefined;
  /** Set by the route for handlers that answer later: takes the reply, or the error to answer. */
  settle: ((reply: Reply | undefined, error?: unknown) => void) | undefined;

  constructor(
    private readonly res: HttpResponse,
    private readonly stamp: (res: HttpResponse) => void,
    /** HEAD: the same headers as GET, and no body (writing one would be read as the next response). */
    private readonly head = false,
    /**
     * The stamp and a JSON Content-Type as one header name ending in `ETag` (ReadHeaders): a 200
     * whose only other header is its ETag (a write's answer) is then written in two uWS calls.
     */
    private readonly stampWithEtag?: () => Uint8Array,
  ) {
    res.onAborted(() => {
      this.aborted = true;
      this.onAbort?.();
    });
  }

  get open(): boolean {
    return !this.aborted && !this.answered;
  }

  reply(reply: Reply): void {
    if (!this.open) return;
    this.answered = true;
    this.res.cork(() => {
      const res = this.res;
      const etag = reply.headers?.ETag;
      if (etag !== undefined && this.stampWithEtag && reply.status === 200 && !this.head && reply.body !== undefined && !reply.contentType && onlyEtag(reply.headers!)) {
        res.writeHeader(this.stampWithEtag(), etag).end(reply.body, reply.close);
        return;
      }
      res.writeStatus(STATUS_LINE[reply.status] ?? String(reply.status));
      this.stamp(res);
      if (reply.body !== undefined) res.writeHeader('Content-Type', reply.contentType ?? 'application/json');
      if (reply.headers) for (const name in reply.headers) res.writeHeader(name, reply.headers[name]!);
      if (this.head || reply.status === 304) this.endWithoutBody(reply);
      else res.end(reply.body ?? '', reply.close);
    });
  }

  /**
   * In this uWS build, endWithoutBody(n > 0) leaves the response open and endWithoutBody(undefined, …)
   * announces a length of 2^63; only the bare call is safe, so HEAD writes its length itself.
   * Neither HEAD nor 304 ever has a request body left on the wire, so there is nothing to close for.
   */
  private endWithoutBody(reply: Reply): void {
    if (reply.status !== 304) this.res.writeHeader('Content-Length', String(Buffer.byteLength(reply.body ?? '')));
    this.res.endWithoutBody();
  }

  /** For a handler that returned LATER: answers what `make` returns, or the error it throws. */
  answer(make: () => Reply): void {
    let reply: Reply;
    try {
      reply = make();
    } catch (error) {
      this.fail(error);
      return;
    }
    this.settle?.(reply);
  }

  /** For a handler that returned LATER: answers the error (a DriftError's status and code). */
  fail(error: unknown): void {
    this.settle?.(undefined, error);
  }

  /**
   * Reads the whole body and hands it to `then` (or fails the exchange: 413 as soon as the
   * declared or received size passes `limit`, or the client going away). The bytes are valid
   * during the call only: a body that came in one chunk is uWS's own memory, not copied.
   */
  readBody(limit: number, declaredLength: number | undefined, then: (body: Uint8Array) => void): void {
    const tooLarge = (declared?: number) => new DriftError('value_too_large', `the value is larger than ${limit} bytes`, { limit, declared });
    if (declaredLength !== undefined && declaredLength > limit) {
      this.fail(tooLarge(declaredLength));
      return;
    }
    let chunks: Buffer[] | undefined;
    let received = 0;
    let refused = false;
    // Without this, a client that hangs up mid-body leaves the request pending for good.
    this.onAbort = () => this.fail(new DriftError('client_closed', 'the client closed the connection before sending the whole body'));
    this.res.onData((chunk, isLast) => {
      if (refused) return;
      received += chunk.byteLength;
      if (received > limit) {
        refused = true;
        this.fail(tooLarge());
        return;
      }
      if (isLast && !chunks) {
        this.take(then, new Uint8Array(chunk));
        return;
      }
      (chunks ??= []).push(Buffer.from(new Uint8Array(chunk)));
      if (isLast) this.take(then, Buffer.concat(chunks, received));
    });
  }

  private take(then: (body: Uint8Array) => void, body: Uint8Array): void {
    try {
      then(body);
    } catch (error) {
      this.fail(error);
    }
  }
}
