import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, findRoot } from './cluster/build.js';
import { findNginx, nginxSpec, NGINX_INSTALL_HINT, writeMainConfig, writeUpstreams, type NginxFiles } from './cluster/nginx.js';
import { parseOptions, USAGE, type ClusterOptions } from './cluster/options.js';
import { clusterLog } from './cluster/output.js';
import { isPortFree, pickFreePorts } from './cluster/ports.js';
import { replicaName, replicaSpec, type ReplicaSet } from './cluster/replica.js';
import { Supervised } from './cluster/supervisor.js';

/** N driftkv replicas behind nginx on one machine; see USAGE. */
async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2), process.env);
  if (parsed.ok === 'help') return console.log(USAGE);
  if (!parsed.ok) return refuse(...parsed.problems, '', USAGE);
  const { options } = parsed;
  const nginx = findNginx(options.nginx);
  if (!nginx) return refuse(options.nginx ? `no executable nginx at ${options.nginx}` : NGINX_INSTALL_HINT);
  if (!(await isPortFree(options.port, options.host))) return refuse(`port ${options.port} on ${options.host} is in use: set SERVER_PORT to a free port`);
  const root = findRoot(import.meta.dirname);
  ensureBuilt(root, (message) => clusterLog(message, {}, 'warn'));
  await run(options, nginx, root);
}

async function run(options: ClusterOptions, nginx: string, root: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'driftkv-cluster-'));
  const files: NginxFiles = { dir, templatePath: join(root, 'docker/nginx.conf.template'), listen: `${options.host}:${options.port}` };
  const set: ReplicaSet = {
    root,
    ports: await pickFreePorts(options.replicas, '127.0.0.1'),
    startTimeoutMs: 120_000,
    onMoved(index, port) {
      clusterLog('replica moves to a new port; reloading nginx', { process: replicaName(index), port });
      writeUpstreams(files, set.ports);
      balancer.signal('SIGHUP');
    },
  };
  writeUpstreams(files, set.ports);
  writeMainConfig(files);
  const replicas = set.ports.map((_, index) => new Supervised(replicaSpec(set, index), options.stopTimeoutMs));
  const balancer = new Supervised(nginxSpec(nginx, files, 20_000), 10_000);
  const all = [balancer, ...replicas];

  let stopping: Promise<void> | undefined;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      clusterLog('stopping the cluster', { reason });
      await Promise.all(all.map((p) => p.stop()));
      rmSync(dir, { recursive: true, force: true });
      clusterLog('cluster stopped');
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) {
        clusterLog('second signal: killing every process now', { signal }, 'warn');
        all.forEach((p) => p.forceKill());
        return;
      }
      void stop(signal).then(() => process.exit(0));
    });
  }
  // Whatever ends this process (an uncaught error included) ends its children too.
  process.on('exit', () => all.forEach((p) => p.forceKill()));
  watchParent(() => void stop('parent exited').then(() => process.exit(0)));

  try {
    await Promise.all(replicas.map((replica) => replica.start()));
    await balancer.start();
  } catch (error) {
    clusterLog('the cluster did not start', { err: (error as Error).message }, 'error');
    await stop('start failed');
    process.exit(1);
  }
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${options.port}`;
  clusterLog('cluster ready', {
    url,
    pid: process.pid,
    nginx: balancer.pid,
    replicas: replicas.map((replica, index) => ({ name: replica.name, pid: replica.pid, port: set.ports[index] })),
  });
}

/**
 * npm dies on SIGTERM without passing it on, which would leave this script and its children
 * running unseen: when the process that started it goes away, the cluster stops.
 */
function watchParent(onGone: () => void): void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 1000);
  timer.unref();
}

function refuse(...lines: string[]): void {
  for (const line of lines) console.error(line === '' || line.includes('\n') ? line : `cluster: ${line}`);
  process.exitCode = 1;
}

main().catch((error: unknown) => {
  clusterLog('cluster failed', { err: error instanceof Error ? error.message : String(error) }, 'error');
  process.exit(1);
});
