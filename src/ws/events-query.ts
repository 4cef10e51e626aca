import { DriftError } from '../domain/errors.js';
import { parseQuery } from '../http/request.js';

export interface EventsQuery {
  /** Replay every change after this revision first; undefined: live only. */
  readonly since: number | undefined;
  readonly prefix: string;
  /** A bearer token for browsers, which cannot send an Authorization header on a websocket. */
  readonly token: string | undefined;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** `/events?since=<revision>&prefix=<p>`; anything else in the query is ignored (cache busters). */
export function parseEventsQuery(raw: string, maxKeyBytes: number): EventsQuery {
  const query = parseQuery(raw);
  const since = query.get('since');
  const prefix = query.get('prefix') ?? '';
  if (since !== undefined && !/^\d{1,15}$/.test(since)) {
    throw new DriftError('invalid_query', 'since must be a revision: a whole number from 0');
  }
  if (Buffer.byteLength(prefix) > maxKeyBytes) {
    throw new DriftError('invalid_query', `prefix is longer than ${maxKeyBytes} bytes`);
  }
  if (CONTROL.test(prefix)) throw new DriftError('invalid_query', 'prefix contains a control character');
  return { since: since === undefined ? undefined : Number(since), prefix, token: query.get('token') };
}
