// Benchmarks that compare: every driftkv figure against a baseline measured in the same run.
//   npm run bench                      all scenarios, 3 interleaved rounds of 10 s
//   npm run bench -- --quick           about a minute: 1 round of 3 s, smaller sets
//   npm run bench -- --only=get,put    some scenarios (get, put, propagation, memory, fanout; memory includes cold start)
//   npm run bench -- --cpu-prof        driftkv instances write CPU profiles to bench/results/profiles/
// Writes bench/results/<timestamp>.json and bench/results/latest.md. The machine is shared:
// ratios within one run are the figures; absolute numbers are reported, never asserted.
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPrivate } from './lib/build.js';
import type { Context, ScenarioResult } from './lib/context.js';
import { LOAD_CPU, loadAverage } from './lib/process.js';
import { markdown, type RunInfo } from './lib/report.js';
import { ensureWrk } from './lib/wrk.js';
import { getScenario } from './scenarios/get.js';
import { fanoutScenario } from './scenarios/fanout.js';
import { memoryAndColdStart } from './scenarios/memory-coldstart.js';
import { propagationScenario } from './scenarios/propagation.js';
import { putScenario } from './scenarios/put.js';

const SCENARIOS: Record<string, (ctx: Context) => Promise<ScenarioResult | ScenarioResult[]>> = {
  get: getScenario,
  put: putScenario,
  propagation: propagationScenario,
  memory: memoryAndColdStart,
  fanout: fanoutScenario,
};

const RESULTS = resolve(import.meta.dirname, 'results');

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length).split(',');
  const profile = args.includes('--cpu-prof');
  const unknown = (only ?? []).filter((name) => !SCENARIOS[name]);
  if (unknown.length > 0) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  // This process and every load generator it starts stay on the load core.
  execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  ensureWrk();
  const loadBefore = await loadAverage();
  if (loadBefore > 1) console.error(`note: load average ${loadBefore} > 1: others are using the machine; ratios are less reliable`);
  console.error('building a private copy of the service…');
  const buildDir = join(tmpdir(), `driftkv-bench-${process.pid}`);
  process.once('exit', () => rmSync(buildDir, { recursive: true, force: true }));
  const build = await buildPrivate(buildDir);
  const profiles = join(RESULTS, 'profiles');
  if (profile) mkdirSync(profiles, { recursive: true });
  const ctx: Context = {
    quick,
    rounds: quick ? 1 : 3,
    seconds: quick ? 3 : 10,
    main: build.main,
    bareUws: build.bareUws,
    bareWritePath: build.bareWritePath,
    nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : [],
    log: (message) => console.error(`  ${message}`),
  };
  const results: ScenarioResult[] = [];
  for (const [name, run] of Object.entries(SCENARIOS)) {
    if (only && !only.includes(name)) continue;
    console.error(`scenario ${name}…`);
    const started = Date.now();
    results.push(...[await run(ctx)].flat());
    console.error(`scenario ${name} done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  const info: RunInfo = {
    at: new Date().toISOString(),
    quick,
    rounds: ctx.rounds,
    seconds: ctx.seconds,
    loadBefore,
    loadAfter: await loadAverage(),
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim(),
    node: process.version,
  };
  mkdirSync(RESULTS, { recursive: true });
  const stamp = info.at.replaceAll(':', '-').replace(/\..*/, '');
  writeFileSync(join(RESULTS, `${stamp}.json`), JSON.stringify({ ...info, results }, null, 2) + '\n');
  const table = markdown(info, results);
  writeFileSync(join(RESULTS, 'latest.md'), table);
  process.stdout.write(table);
}

await main();
