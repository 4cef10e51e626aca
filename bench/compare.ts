// Two builds of driftkv side by side: did a change make GET cheaper?
//   npm run bench:compare -- <base> [<new>]    git refs; <new> defaults to this working tree
//   options: --series=4 --pairs=8 --seconds=4 --depth=16 --keys=100000
// Both builds read one seeded store and run pinned to the service core, with wrk's GET script on
// the load core, in interleaved pairs whose order alternates. Between series both instances are
// restarted and the order in which they start is swapped: on this machine the instance started
// second was measured up to 8.5% cheaper per request with the same code (bench/HISTORY.md), so a
// comparison that always starts one build first measures that as well. Reported: per series, the
// median new/base ratio of server CPU per request and of the rate; their geometric means; and
// the same for each start order, which shows how large the start-order effect was in this run.
// `npm run bench:compare -- HEAD HEAD` measures only that effect and the noise.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Deployment, waitReady, type Instance } from './lib/driftkv.js';
import { LOAD_CPU, loadAverage } from './lib/process.js';
import { geometricMean, median, round } from './lib/stats.js';
import { ensureWrk, wrkGet } from './lib/wrk.js';
import { buildRef, numberOption, UsageError } from './lib/refs.js';

interface Options {
  readonly base: string;
  readonly next: string | undefined;
  readonly series: number;
  readonly pairs: number;
  readonly seconds: number;
  readonly depth: number;
  readonly keys: number;
}

interface Sample {
  readonly cpuNs: number;
  readonly rate: number;
}

function options(args: string[]): Options {
  const refs = args.filter((a) => !a.startsWith('--'));
  const number = (name: string, fallback: number) => numberOption(args, name, fallback);
  if (refs.length < 1 || refs.length > 2) throw new UsageError('usage: npm run bench:compare -- <base ref> [<new ref>] [--series=4 --pairs=8 --seconds=4 --depth=16 --keys=100000]');
  return {
    base: refs[0]!,
    next: refs[1],
    series: number('series', 4),
    pairs: number('pairs', 8),
    seconds: number('seconds', 4),
    depth: number('depth', 16),
    keys: number('keys', 100_000),
  };
}

async function measure(instance: Instance, opts: Options): Promise<Sample> {
  const result = await wrkGet(instance.url, instance.pid, { keys: opts.keys, depth: opts.depth, connections: 50, seconds: opts.seconds });
  if (result.errors > 0) throw new Error(`${result.errors} failed requests against ${instance.url}`);
  return { cpuNs: result.cpuNsPerRequest, rate: result.perSecond };
}

/** One series: both builds started (in `order`), then `pairs` interleaved pairs; new/base medians. */
async function series(deployment: Deployment, mains: [string, string], order: [0, 1] | [1, 0], opts: Options) {
  const instances: Instance[] = [];
  try {
    for (const which of order) {
      instances[which] = await deployment.startMain(mains[which], { INSTANCE_ID: `driftkv-${which ? 'new' : 'base'}`, CONSUMER: 'off' });
      await waitReady(instances[which]!.url);
    }
    for (const instance of instances) await measure(instance, opts); // warm-up: JIT and the first touch of every page
    const cpu: number[] = [];
    const rate: number[] = [];
    for (let pair = 0; pair < opts.pairs; pair++) {
      const samples: Sample[] = [];
      for (const which of pair % 2 ? [1, 0] : [0, 1]) samples[which] = await measure(instances[which]!, opts);
      const [base, next] = samples as [Sample, Sample];
      cpu.push(next.cpuNs / base.cpuNs);
      rate.push(next.rate / base.rate);
      console.error(`  base ${Math.round(base.rate)}/s ${Math.round(base.cpuNs)} ns, new ${Math.round(next.rate)}/s ${Math.round(next.cpuNs)} ns`);
    }
    return { cpu: median(cpu), rate: median(rate) };
  } finally {
    await Promise.all(instances.map((i) => i?.stop()));
  }
}

async function main(): Promise<void> {
  const opts = options(process.argv.slice(2));
  execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  ensureWrk();
  const loadBefore = await loadAverage();
  const dir = join(tmpdir(), `driftkv-compare-${process.pid}`);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  console.error(`building ${opts.base} and ${opts.next ?? 'the working tree'}…`);
  const mains: [string, string] = [await buildRef(join(dir, 'base'), opts.base), await buildRef(join(dir, 'new'), opts.next)];
  const deployment = new Deployment(mains[0]);
  const results: { order: string; cpu: number; rate: number }[] = [];
  try {
    await deployment.seed(opts.keys);
    for (let s = 0; s < opts.series; s++) {
      const order: [0, 1] | [1, 0] = s % 2 ? [1, 0] : [0, 1];
      const label = order[0] === 0 ? 'base started first' : 'new started first';
      console.error(`series ${s + 1} of ${opts.series} (${label})`);
      results.push({ order: label, ...(await series(deployment, mains, order, opts)) });
    }
  } finally {
    await deployment.destroy();
  }
  const line = (rows: typeof results) =>
    `CPU per request new/base ${round(geometricMean(rows.map((r) => r.cpu)), 3)}, rate new/base ${round(geometricMean(rows.map((r) => r.rate)), 3)}`;
  console.log(`GET ${opts.depth > 1 ? `${opts.depth}-deep pipelined` : 'not pipelined'}, 50 connections, ${opts.keys} keys; ${opts.base} against ${opts.next ?? 'the working tree'}; load average ${loadBefore} before, ${await loadAverage()} after`);
  console.log('| series | started first | CPU per request new/base | rate new/base |\n|---|---|---|---|');
  for (const [i, r] of results.entries()) console.log(`| ${i + 1} | ${r.order.split(' ')[0]} | ${round(r.cpu, 3)} | ${round(r.rate, 3)} |`);
  console.log(`all series: ${line(results)}`);
  for (const order of ['base started first', 'new started first']) {
    const rows = results.filter((r) => r.order === order);
    if (rows.length > 0) console.log(`${order}: ${line(rows)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof UsageError ? error.message : error);
  process.exit(1);
});
