import { createHash, timingSafeEqual } from 'node:crypto';
import { inject, injectable } from 'tsyringe';
import type { Config } from '../config.js';
import { CONFIG } from '../container.js';
import { DriftError } from '../domain/errors.js';

/** What a request needs: `open` paths (health, readiness) need nothing. */
export type Scope = 'open' | 'read' | 'write';

/** RFC 6750 §2.1: `Bearer <b64token>`, the scheme case-insensitive. */
const BEARER = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Bearer tokens (WRITE_TOKEN, READ_TOKEN), off when neither is set. The write token also reads.
 * Tokens are compared as SHA-256 digests with timingSafeEqual: equal lengths whatever was sent,
 * so neither the content nor the length of the secret leaks through timing.
 *
 * RFC 6750 §3.1: a missing or unknown token is 401 (invalid_token); a valid token without the
 * right (the read token on a write) is 403 (insufficient_scope), since retrying with the same
 * credentials cannot succeed and the client should not prompt for another login.
 */
@injectable()
export class Access {
  private readonly writeDigest: Buffer | undefined;
  private readonly readDigest: Buffer | undefined;

  constructor(@inject(CONFIG) config: Config) {
    this.writeDigest = config.writeToken === undefined ? undefined : digest(config.writeToken);
    this.readDigest = config.readToken === undefined ? undefined : digest(config.readToken);
  }

  /** Throws `unauthorized` or `forbidden` unless `token` (undefined: none was sent) grants `scope`. */
  check(scope: Scope, token: string | undefined): void {
    if (scope === 'open') return;
    const guard = scope === 'write' ? this.writeDigest : this.readDigest;
    if (guard === undefined) return;
    if (token === undefined) throw new DriftError('unauthorized', 'this request needs a bearer token (Authorization: Bearer <token>)');
    const sent = digest(token);
    if (matches(sent, guard)) return;
    if (scope === 'read' && this.writeDigest && matches(sent, this.writeDigest)) return;
    if (scope === 'write' && this.readDigest && matches(sent, this.readDigest)) {
      throw new DriftError('forbidden', 'this token may read but not write', { scope: 'write' });
    }
    throw new DriftError('unauthorized', 'the bearer token is not valid', { invalid: true });
  }
}

/** The token of an `Authorization: Bearer` header; undefined when absent, `''` when malformed (never matches). */
export function bearerToken(header: string): string | undefined {
  if (!header) return undefined;
  return BEARER.exec(header)?.[1] ?? '';
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function matches(a: Buffer, b: Buffer): boolean {
  return timingSafeEqual(a, b);
}
