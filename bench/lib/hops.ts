import { metricTexts, sumIn } from './driftkv.js';
import { median, round } from './stats.js';

/** Where a write's time goes, from the service's own histograms (src/metrics.ts). */
const HOPS = {
  confirm: 'driftkv_command_confirm_seconds',
  queued: 'driftkv_command_queued_seconds',
  commit: 'driftkv_consumer_commit_seconds',
  visible: 'driftkv_change_visible_seconds',
} as const;

type Hop = keyof typeof HOPS;

/** One histogram summed across instances: its sum, its count and its cumulative bucket counts by upper bound. */
interface Reading {
  sum: number;
  count: number;
  buckets: Map<number, number>;
}

export type HopReadings = Record<Hop, Reading>;

/** Each hop's mean, and the bucket bound under which 99% of it fell (an upper bound on its p99), in ms. */
export type HopFigures = Record<`${Hop}MeanMs` | `${Hop}P99Ms`, number>;

/** The hop histograms as they stand, summed across instances. */
export async function readHops(urls: string[]): Promise<HopReadings> {
  return hopsIn(await metricTexts(urls));
}

/** The hop histograms in the instances' /metrics texts, summed across them. */
export function hopsIn(texts: string[]): HopReadings {
  const reading = (name: string): Reading => {
    const r: Reading = { sum: sumIn(texts, `${name}_sum`), count: sumIn(texts, `${name}_count`), buckets: new Map() };
    for (const text of texts) {
      for (const [, le, n] of text.matchAll(new RegExp(`^${name}_bucket\\{(?:[^}]*,)?le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm'))) {
        const bound = le === '+Inf' ? Infinity : Number(le);
        r.buckets.set(bound, (r.buckets.get(bound) ?? 0) + Number(n));
      }
    }
    return r;
  };
  return Object.fromEntries(Object.entries(HOPS).map(([hop, name]) => [hop, reading(name)])) as HopReadings;
}

/** The figures of what happened between two readings. */
export function hopsBetween(before: HopReadings, after: HopReadings): HopFigures {
  const figures = {} as HopFigures;
  for (const hop of Object.keys(HOPS) as Hop[]) {
    const count = after[hop].count - before[hop].count;
    figures[`${hop}MeanMs`] = count > 0 ? round(((after[hop].sum - before[hop].sum) / count) * 1000, 2) : 0;
    const bound = quantileBound(before[hop], after[hop], count, 0.99);
    figures[`${hop}P99Ms`] = count === 0 ? 0 : Number.isFinite(bound) ? round(bound * 1000, 2) : Infinity;
  }
  return figures;
}

/** Each figure's median over rounds. */
export function medianHops(rounds: HopFigures[]): HopFigures {
  const figures = {} as HopFigures;
  for (const name of Object.keys(rounds[0]!) as (keyof HopFigures)[]) figures[name] = median(rounds.map((r) => r[name]));
  return figures;
}

/** The smallest bucket bound under which at least q of the observations between two readings fell. */
function quantileBound(before: Reading, after: Reading, count: number, q: number): number {
  const bounds = [...after.buckets.keys()].sort((x, y) => x - y);
  for (const bound of bounds) {
    if ((after.buckets.get(bound) ?? 0) - (before.buckets.get(bound) ?? 0) >= q * count) return bound;
  }
  return Infinity;
}

/** The hops as a row's words. */
export function describeHops(f: HopFigures, visibleWhere = ''): string {
  const hop = (mean: number, p99: number) => `${mean} ms (p99 <= ${Number.isFinite(p99) ? p99 : 'inf'} ms)`;
  return (
    `confirmed by the broker ${hop(f.confirmMeanMs, f.confirmP99Ms)}, queued ${hop(f.queuedMeanMs, f.queuedP99Ms)}, a batch's commit ${hop(f.commitMeanMs, f.commitP99Ms)}, ` +
    `decision to visible${visibleWhere} ${hop(f.visibleMeanMs, f.visibleP99Ms)} (means, p99 as bucket bounds)`
  );
}
