import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Cluster, waitFor } from '../integration/cluster.js';
import { call } from '../support/http.js';

/**
 * `npm run cluster` as a user runs it: three replicas behind nginx, against the local RabbitMQ and
 * PostgreSQL, in a schema and AMQP prefix of its own (Cluster gives both and removes them after).
 */
const ROOT = resolve(import.meta.dirname, '../..');
const REPLICAS = ['replica-1', 'replica-2', 'replica-3'];

interface ClusterLine {
  readonly msg: string;
  readonly [field: string]: any;
}

const state = new Cluster();
let npm: ChildProcess;
let npmExit: Promise<number | null>;
let balancer: string;
const output: string[] = [];
const events: ClusterLine[] = [];
/** Every process the cluster said it started, and nginx's workers: none may outlive it. */
const started = new Set<number>();

before(async () => {
  const port = await freePort();
  balancer = `http://127.0.0.1:${port}`;
  const env = { ...process.env, ...state.env, SERVER_PORT: String(port), SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'info' };
  npm = spawn('npm', ['run', 'cluster', '--', '--replicas', '3'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  npmExit = new Promise((done) => npm.once('exit', (code) => done(code)));
  started.add(npm.pid!);
  for (const stream of [npm.stdout!, npm.stderr!]) createInterface({ input: stream }).on('line', onLine);
  // If the command ends before it is ready (nginx missing, a port taken), say why at once.
  const exited = npmExit.then((code) => {
    throw new Error(`npm run cluster exited (${code}) before it was ready:\n${output.slice(-20).join('\n')}`);
  });
  const ready = await Promise.race([waitForLine((line) => line.msg === 'cluster ready', 180_000), exited]);
  started.add(ready.pid);
  started.add(ready.nginx);
});

after(async () => {
  // Normally the last test has stopped it; after a failure, nothing this file started may stay.
  const script = events.find((l) => l.msg === 'cluster ready')?.pid;
  if (npm.exitCode === null && npm.signalCode === null) {
    if (script && ours(script)) process.kill(script, 'SIGTERM');
    else npm.kill('SIGTERM');
    await Promise.race([npmExit, new Promise((r) => setTimeout(r, 30_000))]);
  }
  for (const pid of started) if (ours(pid)) process.kill(pid, 'SIGKILL');
  await state.destroy();
});

/** The replica that took a PUT answers once it applied it; the others follow through the event bus. */
async function everyReplicaApplied(revision: number): Promise<void> {
  for (const replica of replicaEntries()) {
    await waitFor(`${replica.name} to apply revision ${revision}`, () => call(`http://127.0.0.1:${replica.port}/readyz`), (a) => Number(a.headers.get('x-revision')) >= revision);
  }
}

test('a PUT through the balancer, then 60 GETs through it: all answer the value, every replica answers', async () => {
  const put = await call(`${balancer}/values/greeting`, { method: 'PUT', body: 'hello from the balancer' });
  assert.equal(put.status, 200, put.text);
  await everyReplicaApplied(put.json.revision);
  const instances = new Map<string, number>();
  for (let i = 0; i < 60; i++) {
    const get = await call(`${balancer}/values/greeting`);
    assert.equal(get.status, 200, get.text);
    assert.equal(get.json.value, 'hello from the balancer');
    const instance = get.headers.get('x-instance') ?? '(none)';
    instances.set(instance, (instances.get(instance) ?? 0) + 1);
  }
  assert.deepEqual([...instances.keys()].sort(), REPLICAS, JSON.stringify(Object.fromEntries(instances)));
});

test('a websocket through the balancer receives the event of a write made through it', async () => {
  const socket = new WebSocket(`${balancer.replace('http', 'ws')}/events?prefix=ws/`);
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data))));
  try {
    await waitFor('the hello message', async () => messages, (m) => m.some((x) => x.type === 'hello'), 30_000);
    const put = await call(`${balancer}/values/ws/greeting`, { method: 'PUT', body: 'through nginx' });
    assert.equal(put.status, 200, put.text);
    const [event] = await waitFor('the value.put event', async () => messages.filter((m) => m.type === 'value.put'), (m) => m.length > 0, 30_000);
    assert.deepEqual({ key: event.key, value: event.value, revision: event.revision }, { key: 'ws/greeting', value: 'through nginx', revision: put.json.revision });
  } finally {
    socket.close();
  }
});

test('kill -9 of a replica under reads: the others answer, the supervisor restarts it, it catches up', async (t) => {
  const first = await call(`${balancer}/values/load`, { method: 'PUT', body: 'v1' });
  assert.equal(first.status, 200, first.text);
  // Otherwise the first reads may reach a replica the event has not reached yet: a 404 that says nothing of the kill.
  await everyReplicaApplied(first.json.revision);
  const victim = replicaEntries().find((r) => r.name === 'replica-2')!;
  const load = readLoad(`${balancer}/values/load`, 3);
  await waitFor('reads under way', async () => load.sent, (n) => n >= 30, 30_000);

  process.kill(victim.pid, 'SIGKILL');
  await waitForLine((l) => l.msg === 'process exited unexpectedly; restarting' && l.process === 'replica-2', 30_000);
  // Written while replica-2 is down: it must find it on its way back (snapshot, then events).
  const whileDown = await call(`${balancer}/values/load`, { method: 'PUT', body: 'v2' });
  assert.equal(whileDown.status, 200, whileDown.text);
  const up = await waitForLine((l) => l.msg === 'process up' && l.process === 'replica-2' && l.pid !== victim.pid, 120_000);
  started.add(up.pid);
  await waitFor('replica-2 to answer v2 through the balancer', async () => load.lastFrom('replica-2'), (v) => v === 'v2', 60_000);
  const afterRestart = await call(`${balancer}/values/load`, { method: 'PUT', body: 'v3' });
  assert.equal(afterRestart.status, 200, afterRestart.text);
  await waitFor('replica-2 to answer v3 through the balancer', async () => load.lastFrom('replica-2'), (v) => v === 'v3', 60_000);
  const report = await load.stop();

  t.diagnostic(`reads sent ${report.sent}, failed ${report.failed.length}${report.failed.length ? `: ${report.failed.slice(0, 5).join('; ')}` : ''}`);
  t.diagnostic(`answers by replica: ${JSON.stringify(report.byInstance)}`);
  const retried = output.filter((line) => line.startsWith('[nginx] ') && line.includes('upstream'));
  t.diagnostic(`nginx upstream errors (each retried on another replica): ${retried.length}${retried.length ? `, first: ${retried[0]!.slice(0, 200)}` : ''}`);
  // nginx retries a refused or reset connection on another replica (proxy_next_upstream error).
  assert.deepEqual(report.failed, []);
  assert.ok(report.sent > 100, `only ${report.sent} reads`);
});

test('SIGTERM ends the cluster and every process it started', async () => {
  const nginx = Number(events.findLast((l) => l.msg === 'process up' && l.process === 'nginx')!.pid);
  for (const worker of childrenOf(nginx)) started.add(worker);
  for (const line of events) if (line.msg === 'process started') started.add(line.pid);
  assert.ok(started.size >= 1 + 1 + 3 + 1 + 1, `pids: ${[...started]}`);
  // The script's own pid: npm exits on SIGTERM without passing it on (the script then notices its
  // parent is gone and stops anyway, but that is the fallback, not the contract).
  process.kill(Number(events.find((l) => l.msg === 'cluster ready')!.pid), 'SIGTERM');
  const code = await Promise.race([npmExit, new Promise<string>((r) => setTimeout(() => r('still running'), 60_000))]);
  assert.equal(code, 0, output.slice(-20).join('\n'));
  assert.ok(events.some((l) => l.msg === 'cluster stopped'));
  const left = [...started].filter(ours);
  assert.deepEqual(left, [], `still running: ${left.map((pid) => `${pid} ${cmdline(pid)}`).join(', ')}`);
});

function onLine(line: string): void {
  output.push(line);
  if (!line.startsWith('[cluster] ')) return;
  try {
    events.push(JSON.parse(line.slice('[cluster] '.length)));
  } catch {
    // Not one of the script's own JSON lines.
  }
}

function waitForLine(match: (line: ClusterLine) => boolean, timeoutMs: number): Promise<ClusterLine> {
  return waitFor('a cluster log line', async () => events.find(match), (line) => line !== undefined, timeoutMs).catch((error: Error) => {
    throw new Error(`${error.message}\n${output.slice(-40).join('\n')}`);
  }) as Promise<ClusterLine>;
}

function replicaEntries(): { name: string; pid: number; port: number }[] {
  return events.findLast((l) => l.msg === 'cluster ready')!.replicas;
}

/** A few loops of GETs through the balancer, each one after the other with a short pause: modest load. */
function readLoad(url: string, loops: number) {
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  const byInstance: Record<string, number> = {};
  const last = new Map<string, string>();
  const loop = async () => {
    while (running) {
      sent++;
      try {
        const answer = await call(url, { signal: AbortSignal.timeout(15_000) });
        const instance = answer.headers.get('x-instance') ?? '(none)';
        byInstance[instance] = (byInstance[instance] ?? 0) + 1;
        if (answer.status !== 200 || !['v1', 'v2', 'v3'].includes(answer.json?.value)) failed.push(`${answer.status} from ${instance}: ${answer.text.slice(0, 120)}`);
        else last.set(instance, answer.json.value);
      } catch (error) {
        failed.push(`${(error as Error).message} (${String((error as Error).cause ?? '')})`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const done = Promise.all(Array.from({ length: loops }, loop));
  return {
    get sent() {
      return sent;
    },
    lastFrom: (instance: string) => last.get(instance),
    async stop() {
      running = false;
      await done;
      return { sent, failed, byInstance };
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.once('error', fail);
  });
}

/** Alive, not a zombie, and still one of ours (not a recycled pid). */
function ours(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) return false;
  } catch {
    return false;
  }
  return /nginx|main\.js|cluster\.ts|npm run cluster/.test(cmdline(pid));
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function childrenOf(parent: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
      } catch {
        return false;
      }
    });
}
