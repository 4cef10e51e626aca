/**
 * postgres 3.4.9 can throw from a timer after a backend is killed (porsager/postgres#1208, #1133):
 * a write scheduled on a connection whose socket is already gone dereferences null. Nothing awaits
 * that timer, so the error is uncaught. It is recognised narrowly: a TypeError on null, thrown
 * inside the driver's connection module. Anything else stays fatal.
 */
export function isKnownDriverFault(error: unknown): boolean {
  if (!(error instanceof TypeError) || !error.message.startsWith('Cannot read properties of null')) return false;
  const topFrame = error.stack?.split('\n').find((line) => line.trimStart().startsWith('at '));
  return topFrame !== undefined && /[\\/]node_modules[\\/]postgres[\\/]src[\\/]connection\.js:/.test(topFrame);
}
