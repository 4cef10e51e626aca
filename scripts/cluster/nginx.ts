import { accessSync, chmodSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Launch, ProcessSpec } from './supervisor.js';

const KNOWN_PATHS = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/local/nginx/sbin/nginx'];

export const NGINX_INSTALL_HINT =
  'nginx is not installed. On Debian or Ubuntu: apt-get update && apt-get install -y nginx-light (as root); ' +
  'elsewhere install nginx with your package manager, or pass --nginx /path/to/nginx';

/** The nginx binary: the one asked for, else on PATH, else where Debian and source builds put it. */
export function findNginx(explicit?: string): string | undefined {
  const candidates = explicit ? [explicit] : [...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'nginx')), ...KNOWN_PATHS];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Fills ${NAME} placeholders the way the nginx image's envsubst step does, so one template serves
 * both; nginx's own $variables have no braces there and stay. A placeholder left unfilled would
 * reach nginx as literal text: refused here instead.
 */
export function fillTemplate(template: string, values: Record<string, string>): string {
  const filled = template.replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
  const missing = [...filled.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]);
  if (missing.length > 0) throw new Error(`the nginx template needs ${[...new Set(missing)].join(', ')}, which the cluster does not provide`);
  return filled;
}

/** Passive health: one failed attempt takes a replica out of the rotation for two seconds. */
export function upstreamServers(ports: readonly number[], host = '127.0.0.1'): string {
  return ports.map((port) => `server ${host}:${port} max_fails=1 fail_timeout=2s;`).join(' ');
}

export interface NginxFiles {
  readonly dir: string;
  readonly templatePath: string;
  /** host:port the balancer listens on. */
  readonly listen: string;
}

/** Writes the filled template; nginx picks a rewrite up on SIGHUP (a replica that moved port). */
export function writeUpstreams(files: NginxFiles, ports: readonly number[]): void {
  const site = fillTemplate(readFileSync(files.templatePath, 'utf8'), { NGINX_UPSTREAM_SERVERS: upstreamServers(ports), NGINX_PORT: files.listen });
  writeFileSync(join(files.dir, 'driftkv.conf'), site);
}

/** A whole nginx.conf whose every path (pid, temp files, logs) stays inside the temp folder. */
export function writeMainConfig(files: NginxFiles): string {
  const { dir } = files;
  // Workers of a root master drop to `nobody`; they must reach the temp folders nginx creates here.
  chmodSync(dir, 0o755);
  const path = join(dir, 'nginx.conf');
  const lines = [
    workerUser(),
    'daemon off;',
    'worker_processes auto;',
    `pid ${join(dir, 'nginx.pid')};`,
    `lock_file ${join(dir, 'nginx.lock')};`,
    'error_log stderr warn;',
    // Websockets keep a worker alive on a graceful stop; the replicas close theirs, this bounds the rest.
    'worker_shutdown_timeout 5s;',
    'events {',
    '  worker_connections 1024;',
    '}',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, kind)};`),
    `  include ${join(dir, 'driftkv.conf')};`,
    '}',
    '',
  ];
  writeFileSync(path, lines.filter((line) => line !== '').join('\n') + '\n');
  return path;
}

export function nginxSpec(binary: string, files: NginxFiles, startTimeoutMs: number): ProcessSpec {
  const config = join(files.dir, 'nginx.conf');
  return {
    name: 'nginx',
    stopSignal: 'SIGQUIT',
    async prepare(): Promise<Launch> {
      return { command: binary, args: ['-p', files.dir, '-c', config, '-e', 'stderr'], env: process.env };
    },
    async untilUp() {
      const [host, port] = splitListen(files.listen);
      const deadline = Date.now() + startTimeoutMs;
      while (!(await accepts(host, port))) {
        if (Date.now() > deadline) throw new Error(`nginx does not accept connections on ${files.listen} after ${startTimeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

function splitListen(listen: string): [string, number] {
  const at = listen.lastIndexOf(':');
  const host = at < 0 ? '127.0.0.1' : listen.slice(0, at).replace(/^\[|\]$/g, '');
  return [host === '0.0.0.0' || host === '*' ? '127.0.0.1' : host === '::' ? '::1' : host, Number(listen.slice(at + 1))];
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** A root master needs a worker user that exists: nobody, with its own primary group's name. */
function workerUser(): string {
  if (process.getuid?.() !== 0) return '';
  const gid = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('nobody:'))?.split(':')[3];
  const group = readFileSync('/etc/group', 'utf8').split('\n').find((l) => l.split(':')[2] === gid)?.split(':')[0];
  return `user nobody ${group ?? 'nogroup'};`;
}
