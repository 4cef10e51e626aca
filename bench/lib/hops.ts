import { metricSum } from './driftkv.js';
import { round } from './stats.js';

/** Where a write's time goes, from the service's own histograms (src/metrics.ts). */
const HOPS = {
  queuedMeanMs: 'driftkv_command_queued_seconds',
  commitMeanMs: 'driftkv_consumer_commit_seconds',
  visibleMeanMs: 'driftkv_change_visible_seconds',
} as const;

type Hop = keyof typeof HOPS;
export type HopSums = Record<Hop, { sum: number; count: number }>;

/** Running sums and counts of the hop histograms, across instances. */
export async function hopMeans(urls: string[]): Promise<HopSums> {
  const entries = await Promise.all(
    Object.entries(HOPS).map(async ([hop, name]) => {
      const [sum, count] = await Promise.all([metricSum(urls, `${name}_sum`), metricSum(urls, `${name}_count`)]);
      return [hop, { sum, count }] as const;
    }),
  );
  return Object.fromEntries(entries) as HopSums;
}

/** Mean milliseconds of each hop over what happened between two readings. */
export function hopsBetween(before: HopSums, after: HopSums): Record<Hop, number> {
  const mean = (hop: Hop) => {
    const count = after[hop].count - before[hop].count;
    return count > 0 ? round(((after[hop].sum - before[hop].sum) / count) * 1000, 2) : 0;
  };
  return { queuedMeanMs: mean('queuedMeanMs'), commitMeanMs: mean('commitMeanMs'), visibleMeanMs: mean('visibleMeanMs') };
}

/** The hops as a row's words. */
export function describeHops(hops: Record<Hop, number>): string {
  return `queued ${hops.queuedMeanMs} ms, a batch's commit ${hops.commitMeanMs} ms, decision to visible ${hops.visibleMeanMs} ms (means)`;
}
