// Two builds of driftkv, one after the other: did a change make PUT faster or cheaper?
//   npm run bench:compare-put -- <base> [<new>]    git refs; <new> defaults to this working tree
//   options: --pairs=4 --seconds=8
// Each run is the PUT scenario's round (bench/scenarios/put.ts): two instances of one build on
// the service core, RabbitMQ and PostgreSQL, wrk's 25 connections on each instance, 100,000 keys.
// Every run gets a deployment of its own (schema, queues, the consumer started first), warmed up
// for 3 s; runs alternate between the builds, and so does which build goes first in a pair. The
// rate moves with the machine's neighbours from one run to the next, often by more than a change
// makes: a change is shown by the pairs' ratios all leaning one way, and by the CPU per write of
// each process, which moves less.
import 'reflect-metadata';
import { Deployment, waitReady } from './lib/driftkv.js';
import { loadAverage } from './lib/process.js';
import { alternateBuilds, comparisonArgs, UsageError } from './lib/refs.js';
import { geometricMean, median, round } from './lib/stats.js';
import { ensureWrk } from './lib/wrk.js';
import { putRound } from './scenarios/put.js';

type Run = Awaited<ReturnType<typeof putRound>>;

async function run(main: string, seconds: number): Promise<Run> {
  const deployment = new Deployment(main);
  try {
    const a = await deployment.start({ INSTANCE_ID: 'driftkv-a' });
    const b = await deployment.start({ INSTANCE_ID: 'driftkv-b' });
    await Promise.all([waitReady(a.url), waitReady(b.url)]);
    await putRound(deployment, [a, b], 3); // warm-up
    return await putRound(deployment, [a, b], seconds);
  } finally {
    await deployment.destroy();
  }
}

function cpu(r: Run): string {
  const c = r.cpuUsPerWrite;
  return `A ${c.a}, B ${c.b}, RabbitMQ ${c.rabbitmq}, PostgreSQL ${c.postgres}`;
}

async function main(): Promise<void> {
  const { base, next, pairs, seconds } = comparisonArgs('bench:compare-put', { pairs: 4, seconds: 8 });
  ensureWrk();
  const loadBefore = await loadAverage();
  const rows = await alternateBuilds('compare-put', base, next, pairs, (main) => run(main, seconds), ({ base: b, next: n }) =>
    console.error(`  base ${Math.round(b.applied)}/s (${cpu(b)}), new ${Math.round(n.applied)}/s (${cpu(n)})`),
  );
  const total = (r: Run) => r.cpuUsPerWrite.a + r.cpuUsPerWrite.b + r.cpuUsPerWrite.rabbitmq + r.cpuUsPerWrite.postgres;
  console.log(`PUT, 2 instances, wrk 25 connections on each, ${seconds} s a run; ${base} against ${next ?? 'the working tree'}; load average ${loadBefore} before, ${await loadAverage()} after`);
  console.log('| pair | first | base applied/s | new applied/s | new/base | base CPU per write, us | new CPU per write, us | base batch | new batch |\n|---|---|---|---|---|---|---|---|---|');
  for (const [i, { base: b, next: n }] of rows.entries()) {
    console.log(`| ${i + 1} | ${i % 2 ? 'new' : 'base'} | ${Math.round(b.applied)} | ${Math.round(n.applied)} | ${round(n.applied / b.applied, 3)} | ${total(b)} (${cpu(b)}) | ${total(n)} (${cpu(n)}) | ${b.meanBatch} | ${n.meanBatch} |`);
  }
  const ratios = rows.map((r) => r.next.applied / r.base.applied);
  console.log(
    `rate new/base: geometric mean ${round(geometricMean(ratios), 3)}, new ahead in ${ratios.filter((x) => x > 1).length} of ${ratios.length} pairs; ` +
      `CPU per write, medians: base ${median(rows.map((r) => total(r.base)))} us, new ${median(rows.map((r) => total(r.next)))} us`,
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(1);
});
