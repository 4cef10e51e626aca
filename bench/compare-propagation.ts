// Two builds of driftkv, one after the other: did a change make propagation faster?
//   npm run bench:compare-propagation -- <base> [<new>]    git refs; <new> defaults to this working tree
//   options: --pairs=4 --seconds=5
// Each run is the propagation scenario's round (bench/scenarios/propagation.ts): writes at 1,000/s
// through instance A (the consumer), the delay until a websocket on instance B receives each one.
// Every run gets a deployment of its own, warmed up as the scenario's are (WARM_UP_SECONDS); runs
// alternate between the builds, and so does which build goes first in a pair. A p99 of one run
// moves with the machine's neighbours by more than most changes make: a change shows as the pairs
// leaning one way.
import 'reflect-metadata';
import { Deployment, waitReady } from './lib/driftkv.js';
import { loadAverage } from './lib/process.js';
import { alternateBuilds, comparisonArgs, UsageError } from './lib/refs.js';
import { geometricMean, median, round } from './lib/stats.js';
import { writeAtRate } from './lib/writer.js';
import { propagationRound, RATE, WARM_UP_SECONDS, type Round } from './scenarios/propagation.js';

async function run(main: string, seconds: number): Promise<Round> {
  const deployment = new Deployment(main);
  try {
    const a = await deployment.start({ INSTANCE_ID: 'driftkv-a' });
    const b = await deployment.start({ INSTANCE_ID: 'driftkv-b', CONSUMER: 'off' });
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    await writeAtRate(a.port, RATE, WARM_UP_SECONDS, (n) => `warm:${n}`);
    return await propagationRound(a, b, 'prop:', seconds);
  } finally {
    await deployment.destroy();
  }
}

const figures = (r: Round) => `p50 ${r.p50} ms, p99 ${r.p99} ms, max ${r.max} ms (${r.received}/${r.sent})`;

async function main(): Promise<void> {
  const { base, next, pairs, seconds } = comparisonArgs('bench:compare-propagation', { pairs: 4, seconds: 5 });
  const loadBefore = await loadAverage();
  const rows = await alternateBuilds('compare-propagation', base, next, pairs, (main) => run(main, seconds), ({ base: b, next: n }) =>
    console.error(`  base ${figures(b)}; new ${figures(n)}`),
  );
  console.log(`propagation A -> websocket on B at ${RATE} writes/s, ${seconds} s a run; ${base} against ${next ?? 'the working tree'}; load average ${loadBefore} before, ${await loadAverage()} after`);
  console.log('| pair | first | base p50 | new p50 | base p99 | new p99 | new/base p99 | base max | new max |\n|---|---|---|---|---|---|---|---|---|');
  for (const [i, { base: b, next: n }] of rows.entries()) {
    console.log(`| ${i + 1} | ${i % 2 ? 'new' : 'base'} | ${b.p50} | ${n.p50} | ${b.p99} | ${n.p99} | ${round(n.p99 / b.p99, 3)} | ${b.max} | ${n.max} |`);
  }
  const ratios = rows.map((r) => r.next.p99 / r.base.p99);
  console.log(
    `p99 new/base: geometric mean ${round(geometricMean(ratios), 3)}, new lower in ${ratios.filter((x) => x < 1).length} of ${ratios.length} pairs; ` +
      `p50 medians: base ${median(rows.map((r) => r.base.p50))} ms, new ${median(rows.map((r) => r.next.p50))} ms`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(1);
});
