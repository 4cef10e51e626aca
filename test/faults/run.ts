import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Cluster, waitForConvergence } from '../integration/cluster.js';
import { Random, seedFromEnv } from '../support/random.js';
import { checkHistory } from './checker.js';
import { MixedLoad } from './load.js';
import { SCENARIOS, type FaultContext, type Scenario } from './scenarios.js';
import { database } from './services.js';

/**
 * The fault suite: a steady mixed load through several instances while one fault at a time is
 * injected and healed, then the acknowledged history is checked against the final state.
 * Usage: run.ts [all | <scenario number>...]; by default the scenarios that leave the shared
 * RabbitMQ and PostgreSQL alone (1, 2, 5, 6). FAULT_SEED replays a run.
 */
interface Row {
  readonly scenario: string;
  readonly operations: number;
  readonly acknowledged: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly hung: number;
  readonly readFailures: number;
  readonly convergeS: number;
  readonly problems: string[];
}

const SEED = seedFromEnv('FAULT_SEED');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runScenario(scenario: Scenario, seed: number): Promise<Row> {
  const cluster = new Cluster({ WRITE_TIMEOUT_MS: '5000', RESYNC_INTERVAL_MS: '2000' });
  const ctx: FaultContext = { cluster, live: [], targets: [], rng: new Random(seed), note: (line) => console.log(`  ${scenario.name}: ${line}`) };
  const problems: string[] = [];
  let load: MixedLoad | undefined;
  try {
    for (let i = 0; i < scenario.instances; i++) ctx.live.push(await cluster.start());
    ctx.targets = [...ctx.live];
    load = new MixedLoad(() => ctx.targets, { workers: 8, keys: 150, requestTimeoutMs: 20_000, seed });
    await sleep(2000);
    // A fault that did not go as planned is a failed scenario, but the history is still checked.
    await scenario.inject(ctx).catch((error: unknown) => problems.push(`injection: ${String(error).slice(0, 300)}`));
    const healedAt = Date.now();
    await sleep(3000);
    const stats = await load.stop();
    load = undefined;
    const stored = await waitForConvergence(cluster, ctx.live, 120_000).catch((error: unknown) => {
      problems.push(`no convergence: ${String(error).slice(0, 300)}`);
      return undefined;
    });
    const convergeS = (Date.now() - healedAt) / 1000;
    // An accepted command still queued, or dead-lettered, is a write the final state cannot show.
    await sleep(5000);
    const queued = await queueDepths(cluster.name);
    if (queued.commands + queued.dead > 0) problems.push(`after convergence: ${queued.commands} commands still queued (${queued.unacked} delivered, unacknowledged), ${queued.dead} dead-lettered`);
    const verdict = checkHistory(stats.writes, stored ?? (await cluster.stored()), await cluster.changeLog());
    const writesHung = stats.writes.filter((w) => w.hung).length;
    const hung = writesHung + stats.readsHung;
    // A frozen process cannot answer; everywhere else a request must be answered, one way or another.
    if (hung > 0 && !scenario.freezes) problems.push(`${writesHung} writes and ${stats.readsHung} reads hung`);
    if (stats.readFailures > 0) problems.push(`${stats.readFailures} reads failed: ${stats.readFailureDetails.slice(0, 5).join('; ')}`);
    return { scenario: scenario.name, ...verdict, lost: verdict.lost.length, problems: [...problems, ...verdict.problems], hung, readFailures: stats.readFailures, convergeS };
  } finally {
    await load?.stop();
    for (const instance of cluster.instances) if (instance.process.signalCode === null) instance.process.kill('SIGCONT');
    await ctx.onEnd?.();
    await database.ensureRunning();
    await cluster.destroy().catch((error: unknown) => console.error(`cleanup of ${cluster.name} failed: ${String(error)}`));
  }
}

async function queueDepths(prefix: string): Promise<{ commands: number; unacked: number; dead: number }> {
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-q', 'list_queues', 'name', 'messages_ready', 'messages_unacknowledged']);
  const row = (name: string) => stdout.split('\n').find((l) => l.startsWith(`${name}\t`))?.split('\t') ?? [];
  const [, ready = '0', unacked = '0'] = row(`${prefix}.commands`);
  return { commands: Number(ready) + Number(unacked), unacked: Number(unacked), dead: Number(row(`${prefix}.commands.dead`)[1] ?? 0) };
}

function table(rows: Row[]): string {
  const head = ['scenario', 'operations', 'acknowledged', 'lost', 'dup. revisions', 'hung requests', 'read failures', 'converge (s)'];
  const body = rows.map((r) => [r.scenario, r.operations, r.acknowledged, r.lost, r.duplicated, r.hung, r.readFailures, r.convergeS.toFixed(1)].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const chosen = args.includes('all') ? SCENARIOS : args.length > 0 ? args.map((n) => SCENARIOS[Number(n) - 1]!) : SCENARIOS.filter((s) => !s.shared);
  console.log(`fault suite, FAULT_SEED=${SEED}: ${chosen.map((s) => s.name).join('; ')}`);
  const rows: Row[] = [];
  for (const [i, scenario] of chosen.entries()) {
    console.log(`- ${scenario.name}`);
    rows.push(await runScenario(scenario, SEED + i * 1000));
    for (const problem of rows.at(-1)!.problems.slice(0, 10)) console.log(`  PROBLEM ${problem}`);
  }
  console.log(`\n${table(rows)}`);
  const failed = rows.filter((r) => r.lost > 0 || r.duplicated > 0 || r.problems.length > 0);
  console.log(failed.length === 0 ? '\nevery scenario held' : `\n${failed.length} scenario(s) failed`);
  process.exit(failed.length === 0 ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
