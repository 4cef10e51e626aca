import { metricSum } from './driftkv.js';
import { round } from './stats.js';

/** Running sums and counts of the two hop histograms (src/metrics.ts), across instances. */
export async function hopMeans(urls: string[]) {
  const [commitSum, commitCount, visibleSum, visibleCount] = await Promise.all(
    ['driftkv_consumer_commit_seconds_sum', 'driftkv_consumer_commit_seconds_count', 'driftkv_change_visible_seconds_sum', 'driftkv_change_visible_seconds_count'].map((name) =>
      metricSum(urls, name),
    ),
  );
  return { commitSum: commitSum!, commitCount: commitCount!, visibleSum: visibleSum!, visibleCount: visibleCount! };
}

/** Mean milliseconds of each hop over what happened between two readings. */
export function hopsBetween(before: Awaited<ReturnType<typeof hopMeans>>, after: Awaited<ReturnType<typeof hopMeans>>) {
  const mean = (sum: number, count: number) => (count > 0 ? round((sum / count) * 1000, 2) : 0);
  return {
    commitMeanMs: mean(after.commitSum - before.commitSum, after.commitCount - before.commitCount),
    visibleMeanMs: mean(after.visibleSum - before.visibleSum, after.visibleCount - before.visibleCount),
  };
}
