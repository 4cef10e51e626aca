/** Every error the service answers with carries a stable code; http/errors.ts maps codes to statuses. */
export class DriftError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DriftError';
  }
}

export type ErrorCode =
  | 'invalid_key'
  | 'invalid_value'
  | 'invalid_header'
  | 'invalid_query'
  | 'unauthorized'
  | 'forbidden'
  | 'value_too_large'
  | 'not_found'
  | 'method_not_allowed'
  | 'precondition_failed'
  | 'idempotency_key_reused'
  | 'unavailable'
  | 'client_closed'
  | 'internal';
