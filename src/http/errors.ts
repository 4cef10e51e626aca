import { DriftError, type ErrorCode } from '../domain/errors.js';
import type { Reply } from './exchange.js';

/**
 * A refused body framed by its Content-Length is skipped by uWS as it arrives, so the connection
 * can stay open: a client still sending it (fetch does) reads the 413 instead of a reset. Past
 * this size it is not worth receiving, and the connection is closed.
 */
const SKIP_REFUSED_BODY_UP_TO = 16 * 1024 * 1024;

const STATUS: Record<ErrorCode, number> = {
  invalid_key: 400,
  invalid_value: 400,
  invalid_header: 400,
  invalid_query: 400,
  unauthorized: 401,
  forbidden: 403,
  value_too_large: 413,
  not_found: 404,
  method_not_allowed: 405,
  precondition_failed: 412,
  // draft-ietf-httpapi-idempotency-key-header: a key reused with another request is 422.
  idempotency_key_reused: 422,
  unavailable: 503,
  // Never sent (the connection is gone); nginx's code, so metrics tell these apart.
  client_closed: 499,
  internal: 500,
};

/** The one place where errors become HTTP answers: `{"error": code, "message", ...details}`. */
export function errorReply(error: unknown): Reply {
  const known = error instanceof DriftError ? error : new DriftError('internal', 'internal error');
  const headers: Record<string, string> = {};
  if (known.code === 'unavailable') headers['Retry-After'] = '1';
  if (known.code === 'method_not_allowed') headers.Allow = String(known.details.allow);
  const challenge = bearerChallenge(known);
  if (challenge) headers['WWW-Authenticate'] = challenge;
  const { allow: _allow, invalid: _invalid, ...details } = known.details;
  return {
    status: STATUS[known.code],
    headers,
    body: JSON.stringify({ error: known.code, message: known.message, ...details }),
    // A body read only in part (chunked, past the limit) would be parsed as the next request.
    close: known.code === 'value_too_large' && !(typeof known.details.declared === 'number' && known.details.declared <= SKIP_REFUSED_BODY_UP_TO),
  };
}

/** RFC 6750 §3: the challenge names the error once a token was sent (none: no error attribute). */
function bearerChallenge(error: DriftError): string | undefined {
  if (error.code === 'unauthorized') return `Bearer realm="driftkv"${error.details.invalid ? ', error="invalid_token"' : ''}`;
  if (error.code === 'forbidden' && error.details.scope) return `Bearer realm="driftkv", error="insufficient_scope", scope="${String(error.details.scope)}"`;
  return undefined;
}
