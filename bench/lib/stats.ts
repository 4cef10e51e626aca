export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The median of the rounds' own ratios, a[i] / b[i], where round i measured both sides next to
 * each other. On a shared machine the neighbours come and go: when half the rounds run on a slowed
 * machine, the two medians of a ratio of medians can come from different halves (a run here put
 * the pipelined GET at 0.97x that way, where its rounds' own ratios were 0.65 to 0.78).
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(ratiosOf(a, b));
}

/** The rounds' own ratios, for the report: "0.71, 0.69, 0.78". */
export function roundRatios(a: readonly number[], b: readonly number[]): string {
  return ratiosOf(a, b)
    .map((r) => round(r).toFixed(2))
    .join(', ');
}

function ratiosOf(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`paired rounds differ in number: ${a.length} against ${b.length}`);
  return a.map((x, i) => x / b[i]!);
}

/** The item whose `key` is the median (the lower of the two middle ones): a round whose figures belong together. */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  if (items.length === 0) throw new Error('medianBy of nothing');
  return [...items].sort((a, b) => key(a) - key(b))[(items.length - 1) >> 1]!;
}

/** Nearest-rank percentile of already sorted values. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The geometric mean, the average that suits ratios (a ratio and its inverse average to 1). */
export function geometricMean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}
