import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isKnownDriverFault } from '../../src/store/driver-faults.js';

function postgresError(code: string): Error {
  const error = new Error('terminating connection due to administrator command') as Error & { code: string };
  error.name = 'PostgresError';
  error.code = code;
  return error;
}

test('a session-ended PostgreSQL error is a known fault only when it was an unhandled rejection', () => {
  assert.equal(isKnownDriverFault(postgresError('57P01'), 'unhandledRejection'), true);
  assert.equal(isKnownDriverFault(postgresError('57P02'), 'unhandledRejection'), true);
  assert.equal(isKnownDriverFault(postgresError('57014'), 'unhandledRejection'), true);
  const closed = Object.assign(new Error('write CONNECTION_CLOSED 127.0.0.1:5432'), { code: 'CONNECTION_CLOSED' });
  assert.equal(isKnownDriverFault(closed, 'unhandledRejection'), true);
  // Seen in the write-burst fault test: the catalog query's connection reset before the FATAL was read.
  const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', errno: -104, syscall: 'read' });
  assert.equal(isKnownDriverFault(reset, 'unhandledRejection'), true);
  assert.equal(isKnownDriverFault(Object.assign(new Error('connect ECONNRESET'), { code: 'ECONNRESET', syscall: 'connect' }), 'unhandledRejection'), false);
  assert.equal(isKnownDriverFault(reset, 'uncaughtException'), false);
  // Thrown (not a dangling promise), or any other error: fatal as before.
  assert.equal(isKnownDriverFault(postgresError('57P01'), 'uncaughtException'), false);
  assert.equal(isKnownDriverFault(postgresError('23505'), 'unhandledRejection'), false);
  assert.equal(isKnownDriverFault(new Error('boom'), 'unhandledRejection'), false);
  assert.equal(isKnownDriverFault(new TypeError("Cannot read properties of null (reading 'write')"), 'unhandledRejection'), false);
});

test('a TypeError on null is a known fault only when thrown inside the driver', () => {
  const inside = new TypeError("Cannot read properties of null (reading 'write')");
  inside.stack = `${inside.message}\n    at Immediate.nextWrite (file:///app/node_modules/postgres/src/connection.js:255:22)`;
  const outside = new TypeError("Cannot read properties of null (reading 'write')");
  outside.stack = `${outside.message}\n    at handler (file:///app/dist/src/http/server.js:10:2)`;
  assert.equal(isKnownDriverFault(inside), true);
  assert.equal(isKnownDriverFault(outside), false);
});
