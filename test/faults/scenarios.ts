import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { activeConsumer, Cluster, waitFor } from '../integration/cluster.js';
import { backendsOf } from '../integration/database-faults.js';
import { TcpProxy } from '../integration/tcp-proxy.js';
import { call } from '../support/http.js';
import type { Instance } from '../support/instance.js';
import type { Random } from '../support/random.js';
import { broker, database } from './services.js';

const run = promisify(execFile);

export interface FaultContext {
  readonly cluster: Cluster;
  /** The instances that should be up; the load goes to `targets` (the balancer's view). */
  live: Instance[];
  targets: Instance[];
  readonly rng: Random;
  note(line: string): void;
  /** Cleanup that must wait until the run is checked (a proxy the instances still use). */
  onEnd?: () => Promise<void>;
}

export interface Scenario {
  readonly name: string;
  /** Disrupts the shared RabbitMQ or PostgreSQL (everyone else on this machine too). */
  readonly shared: boolean;
  /** Extra environment for the instances, and how many to start. */
  readonly instances: number;
  /** Freezes an instance: requests already sent to it cannot be answered until it thaws. */
  readonly freezes?: boolean;
  /** Injects the fault and heals it; resolves once healed. Must leave every service running. */
  inject(ctx: FaultContext): Promise<void>;
}

/** What holds writes up: backends waiting on a lock, and the command queue's consumers. */
async function diagnose(cluster: Cluster): Promise<string> {
  const waiting = await cluster.sql<{ pid: number; blockers: number[]; state: string; query: string }[]>`
    select pid, pg_blocking_pids(pid) as blockers, state, left(query, 80) as query from pg_stat_activity
    where cardinality(pg_blocking_pids(pid)) > 0`;
  const holders = await cluster.sql<{ pid: number; state: string; query: string }[]>`
    select pid, state, left(query, 80) as query from pg_stat_activity where pid = any(${waiting.flatMap((w) => w.blockers)}::int[])`;
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_consumers', 'queue_name', 'channel_pid', 'active']);
  const consumers = stdout.split('\n').filter((l) => l.startsWith(`${cluster.name}.commands\t`));
  return JSON.stringify({ waiting, holders, consumers });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function replace(ctx: FaultContext, gone: Instance, fresh: () => Promise<Instance>): Promise<void> {
  ctx.live = ctx.live.filter((i) => i !== gone);
  ctx.targets = ctx.targets.filter((i) => i !== gone);
  const started = await fresh();
  ctx.live.push(started);
  ctx.targets.push(started);
}

const killActive: Scenario = {
  name: 'kill -9 active consumer x5',
  shared: false,
  instances: 3,
  async inject(ctx) {
    for (let round = 1; round <= 5; round++) {
      await sleep(ctx.rng.int(1000, 3000));
      const active = await activeConsumer(ctx.live);
      await active.kill();
      ctx.note(`round ${round}: killed pid ${active.process.pid}`);
      await sleep(ctx.rng.int(300, 1500));
      await replace(ctx, active, () => ctx.cluster.start());
    }
  },
};

const pauseActive: Scenario = {
  name: 'kill -STOP active past failover',
  shared: false,
  freezes: true,
  instances: 3,
  async inject(ctx) {
    await sleep(ctx.rng.int(1000, 3000));
    const paused = await activeConsumer(ctx.live);
    const others = ctx.live.filter((i) => i !== paused);
    paused.process.kill('SIGSTOP');
    ctx.targets = others;
    const stoppedAt = Date.now();
    try {
      // The broker notices the silent consumer by missed heartbeats and hands the queue over.
      const taker = await waitFor('another consumer to take over', () => activeConsumer(others), () => true, 60_000).catch(async (error: unknown) => {
        ctx.note(`no takeover: ${await diagnose(ctx.cluster)}`);
        throw error;
      });
      ctx.note(`pid ${paused.process.pid} stopped; pid ${taker.process.pid} took over after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
      await sleep(Math.max(0, 25_000 - (Date.now() - stoppedAt)));
    } finally {
      paused.process.kill('SIGCONT');
    }
    ctx.targets = [...ctx.live];
    await waitFor('the paused instance to be ready again', () => call(`${paused.url}/readyz`), (a) => a.status === 200, 90_000);
  },
};

const blackholeBroker: Scenario = {
  name: 'instance cut from RabbitMQ (blackhole)',
  shared: false,
  instances: 2,
  async inject(ctx) {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5672 });
    await proxy.listen();
    const isolated = await ctx.cluster.start({ AMQP_URL: `amqp://guest:guest@127.0.0.1:${proxy.port}` });
    ctx.live.push(isolated);
    ctx.targets.push(isolated);
    try {
      await sleep(ctx.rng.int(2000, 4000));
      proxy.freeze();
      const frozenAt = Date.now();
      await waitFor('the isolated instance to turn unready', () => call(`${isolated.url}/readyz`), (a) => a.status === 503, 60_000);
      ctx.note(`unready ${((Date.now() - frozenAt) / 1000).toFixed(1)} s after the blackhole`);
      await sleep(5000);
    } finally {
      proxy.restore();
    }
    const healedAt = Date.now();
    await waitFor('the isolated instance to be ready again', () => call(`${isolated.url}/readyz`), (a) => a.status === 200, 90_000);
    ctx.note(`ready again ${((Date.now() - healedAt) / 1000).toFixed(1)} s after healing`);
    ctx.onEnd = () => proxy.close();
  },
};

const restartUnderLoad: Scenario = {
  name: 'instance restarted under load',
  shared: false,
  instances: 3,
  async inject(ctx) {
    for (const which of ['active', 'follower'] as const) {
      await sleep(ctx.rng.int(1000, 3000));
      const active = await activeConsumer(ctx.live);
      const victim = which === 'active' ? active : ctx.live.find((i) => i !== active)!;
      // A balancer stops sending to an instance before it is stopped (drain), not after.
      ctx.targets = ctx.targets.filter((i) => i !== victim);
      await sleep(500);
      const stopped = await victim.stop();
      ctx.note(`${which} pid ${victim.process.pid} stopped gracefully (exit ${stopped.code}, ${stopped.ms} ms)`);
      await replace(ctx, victim, () => ctx.cluster.start());
    }
  },
};

const brokerOutage: Scenario = {
  name: 'RabbitMQ stop_app 10 s',
  shared: true,
  instances: 2,
  async inject(ctx) {
    await sleep(ctx.rng.int(1000, 3000));
    try {
      await broker.stop();
      ctx.note('broker stopped');
      await sleep(10_000);
    } finally {
      await broker.start();
    }
    await waitFor('every instance to be ready again', () => Promise.all(ctx.live.map((i) => call(`${i.url}/readyz`))), (a) => a.every((r) => r.status === 200), 90_000);
  },
};

const databaseRestart: Scenario = {
  name: 'PostgreSQL restart + backends killed',
  shared: true,
  instances: 2,
  async inject(ctx) {
    await sleep(ctx.rng.int(1000, 3000));
    try {
      const backends = (await Promise.all(ctx.live.map((i) => backendsOf(ctx.cluster, i)))).flat();
      for (const pid of backends) await ctx.cluster.sql`select pg_terminate_backend(${pid})`;
      ctx.note(`terminated ${backends.length} backends`);
      await sleep(ctx.rng.int(1000, 2000));
      await database.restartImmediately();
      ctx.note('PostgreSQL restarted (immediate)');
    } finally {
      await database.ensureRunning();
    }
  },
};

export const SCENARIOS: readonly Scenario[] = [killActive, pauseActive, brokerOutage, databaseRestart, blackholeBroker, restartUnderLoad];
