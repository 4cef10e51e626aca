/**
 * Two faults of postgres 3.4.9 escape every handler when a backend is killed, and are recognised
 * narrowly here; anything else stays fatal.
 * - A write scheduled on a connection whose socket is already gone dereferences null, thrown from a
 *   timer (porsager/postgres#1208, #1133): a TypeError on null, thrown inside the driver's
 *   connection module.
 * - A new connection's first statement is the driver's own catalog query (fetch_types), whose
 *   promise nothing handles (porsager/postgres#1192, #1223): a backend terminated during it rejects
 *   into nothing. Every query of this service is awaited, so an unhandled error saying the session
 *   ended (PostgreSQL class 57P or 08, a cancel, the driver's own CONNECTION_* errors, or the
 *   socket reset under it: the driver rejects every query of the connection with the socket's
 *   ECONNRESET when the server closed it before its FATAL message was read) can only be that one.
 */
export function isKnownDriverFault(error: unknown, origin: 'uncaughtException' | 'unhandledRejection' = 'uncaughtException'): boolean {
  if (origin === 'unhandledRejection') return isSessionEnded(error);
  if (!(error instanceof TypeError) || !error.message.startsWith('Cannot read properties of null')) return false;
  const topFrame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return topFrame !== undefined && /[\\/]node_modules[\\/]postgres[\\/]src[\\/]connection\.js:/.test(topFrame);
}

/**
 * 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, 57014 query canceled, 08xxx
 * connection exceptions; a socket reset or broken while reading or writing.
 */
function isSessionEnded(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as Error & { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (error.name === 'PostgresError') return code.startsWith('57P') || code === '57014' || code.startsWith('08');
  if (code === 'ECONNRESET' || code === 'EPIPE') return ['read', 'write'].includes(String((error as Error & { syscall?: unknown }).syscall));
  return code.startsWith('CONNECTION_') || code === 'CONNECT_TIMEOUT';
}
