import type { Metrics } from '../../metrics.js';
import type { Reply } from '../exchange.js';

export function health(): Reply {
  return { status: 200, body: '{"status":"ok"}' };
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Record<string, boolean>;
  readonly revision: number;
  readonly lag: number;
}

/** 503 until the snapshot is loaded and caught up, and while the buses are unreachable. */
export function readiness(state: Readiness): Reply {
  return { status: state.ready ? 200 : 503, body: JSON.stringify({ status: state.ready ? 'ready' : 'not_ready', ...state }) };
}

export async function metricsReply(m: Metrics): Promise<Reply> {
  return { status: 200, contentType: m.registry.contentType, body: await m.registry.metrics() };
}
