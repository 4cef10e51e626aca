import { DriftError } from '../domain/errors.js';

/**
 * Cross-site websocket hijacking: a page elsewhere can open /events with the visitor's network
 * position, and browsers always send Origin on a websocket. With ALLOWED_ORIGINS set, only those
 * and the instance's own origin (the landing page, same host) may open it. No Origin at all is a
 * non-browser client, which the origin rule cannot concern (the token is what guards those).
 */
export function checkOrigin(origin: string, host: string, allowed: readonly string[]): void {
  if (allowed.length === 0 || !origin) return;
  if (allowed.includes(origin.toLowerCase())) return;
  if (host && sameHost(origin, host)) return;
  throw new DriftError('forbidden', 'this origin may not open /events (ALLOWED_ORIGINS)');
}

function sameHost(origin: string, host: string): boolean {
  try {
    return new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
