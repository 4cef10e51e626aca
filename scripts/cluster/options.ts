import { parseArgs } from 'node:util';

export interface ClusterOptions {
  readonly replicas: number;
  /** The balancer's address; the replicas listen on 127.0.0.1 only. */
  readonly host: string;
  readonly port: number;
  readonly nginx?: string;
  readonly stopTimeoutMs: number;
}

export type OptionsResult = { ok: true; options: ClusterOptions } | { ok: false; problems: string[] } | { ok: 'help' };

export const USAGE = `Usage: npm run cluster -- [--replicas N] [--nginx /path/to/nginx]

Starts N driftkv replicas (default 3) on free internal ports and nginx in front of them on
SERVER_PORT (default 8999). Needs the distributed mode: AMQP_URL and DATABASE_URL, e.g.
  AMQP_URL=amqp://guest:guest@127.0.0.1:5672 DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run cluster
Every other driftkv variable (DATABASE_SCHEMA, AMQP_PREFIX, LOG_LEVEL, ...) is passed to the replicas.
Ctrl-C stops everything it started.`;

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): OptionsResult {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { replicas: { type: 'string', short: 'n' }, nginx: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    return { ok: false, problems: [(error as Error).message] };
  }
  if (parsed.values.help) return { ok: 'help' };
  const problems: string[] = [];
  if (!env.AMQP_URL) problems.push('AMQP_URL is not set: a cluster needs the distributed mode (RabbitMQ), e.g. AMQP_URL=amqp://guest:guest@127.0.0.1:5672');
  if (!env.DATABASE_URL) problems.push('DATABASE_URL is not set: a cluster needs the distributed mode (PostgreSQL), e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/test');
  const replicas = wholeNumber(parsed.values.replicas ?? '3', '--replicas', 1, 64, problems);
  const port = wholeNumber(env.SERVER_PORT || '8999', 'SERVER_PORT', 1, 65535, problems);
  const shutdownMs = wholeNumber(env.SHUTDOWN_TIMEOUT_MS || '4000', 'SHUTDOWN_TIMEOUT_MS', 0, 60_000, problems);
  if (problems.length > 0) return { ok: false, problems };
  // A replica exits on its own after SHUTDOWN_TIMEOUT_MS + 1 s; SIGKILL only past that.
  return { ok: true, options: { replicas, host: env.SERVER_HOST || '0.0.0.0', port, nginx: parsed.values.nginx, stopTimeoutMs: shutdownMs + 3000 } };
}

function wholeNumber(raw: string, name: string, min: number, max: number, problems: string[]): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
  return value;
}
