import { hostname } from 'node:os';

export type Mode = 'embedded' | 'distributed';

export interface Config {
  readonly mode: Mode;
  readonly port: number;
  readonly host: string;
  readonly instanceId: string;
  readonly amqpUrl?: string;
  readonly amqpPrefix: string;
  readonly databaseUrl?: string;
  readonly databaseSchema: string;
  readonly dataDir: string;
  readonly maxKeyBytes: number;
  readonly maxValueBytes: number;
  readonly writeTimeoutMs: number;
  readonly resyncIntervalMs: number;
  readonly consumer: boolean;
  readonly consumerPrefetch: number;
  readonly changelogRetain: number;
  readonly outcomeRetainMs: number;
  readonly shutdownTimeoutMs: number;
  readonly logLevel: string;
  /** Bearer tokens; unset: that access is open. */
  readonly writeToken?: string;
  readonly readToken?: string;
  /** Origins allowed to open /events (besides the instance's own); empty: any origin. */
  readonly allowedOrigins: readonly string[];
}

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Reads the environment (DESIGN §9); every problem is reported, not just the first. */
export function loadConfig(env: NodeJS.ProcessEnv): ConfigResult {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      problems.push(`${name}=${JSON.stringify(raw)}: expected a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const text = (name: string): string | undefined => (env[name] === '' ? undefined : env[name]);

  const amqpUrl = text('AMQP_URL');
  const databaseUrl = text('DATABASE_URL');
  if (amqpUrl && !databaseUrl) problems.push('AMQP_URL is set but DATABASE_URL is missing: set both (distributed) or neither (embedded)');
  if (databaseUrl && !amqpUrl) problems.push('DATABASE_URL is set but AMQP_URL is missing: set both (distributed) or neither (embedded)');
  if (amqpUrl && !/^amqps?:\/\//.test(amqpUrl)) problems.push('AMQP_URL: expected amqp://user:password@host:port/vhost');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('DATABASE_URL: expected postgres://user:password@host:port/database');

  const consumer = (text('CONSUMER') ?? 'on').toLowerCase();
  if (consumer !== 'on' && consumer !== 'off') problems.push(`CONSUMER=${JSON.stringify(env.CONSUMER)}: expected on or off`);
  const logLevel = (text('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)}: expected one of ${LOG_LEVELS.join(', ')}`);
  const schema = text('DATABASE_SCHEMA') ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) problems.push(`DATABASE_SCHEMA=${JSON.stringify(schema)}: expected a lowercase SQL identifier`);
  const amqpPrefix = text('AMQP_PREFIX') ?? 'kv';
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(amqpPrefix)) problems.push(`AMQP_PREFIX=${JSON.stringify(amqpPrefix)}: expected letters, digits, '.', '-' or '_'`);

  const instanceId = text('INSTANCE_ID') ?? `${hostname()}:${process.pid}`;
  // It is sent as a header value (and written into the read path's prebuilt headers).
  if (!/^[\x21-\x7e]{1,200}$/.test(instanceId)) problems.push(`INSTANCE_ID=${JSON.stringify(instanceId)}: expected 1 to 200 visible ASCII characters`);

  const access = accessConfig(text('WRITE_TOKEN'), text('READ_TOKEN'), text('ALLOWED_ORIGINS'), problems);

  const config: Config = {
    mode: amqpUrl && databaseUrl ? 'distributed' : 'embedded',
    port: int('SERVER_PORT', 8999, 0, 65535),
    host: text('SERVER_HOST') ?? '0.0.0.0',
    instanceId,
    amqpUrl,
    amqpPrefix,
    databaseUrl,
    databaseSchema: schema,
    dataDir: text('DATA_DIR') ?? './data',
    maxKeyBytes: int('MAX_KEY_BYTES', 1024, 1, 65536),
    maxValueBytes: int('MAX_VALUE_BYTES', 1024 * 1024, 1, 64 * 1024 * 1024),
    writeTimeoutMs: int('WRITE_TIMEOUT_MS', 5000, 1, 600_000),
    resyncIntervalMs: int('RESYNC_INTERVAL_MS', 5000, 10, 3_600_000),
    consumer: consumer !== 'off',
    consumerPrefetch: int('CONSUMER_PREFETCH', 1000, 1, 65535),
    changelogRetain: int('CHANGELOG_RETAIN', 100_000, 1),
    outcomeRetainMs: int('OUTCOME_RETAIN_MS', 24 * 3600 * 1000, 1000),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 4000, 0, 60_000),
    logLevel,
    ...access,
  };
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}

/** RFC 6750 b64token: a token outside it could never be sent in an Authorization header. */
const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MIN_TOKEN_LENGTH = 16;

/** The messages name the variable and never echo a token's value. */
function accessConfig(writeToken: string | undefined, readToken: string | undefined, origins: string | undefined, problems: string[]) {
  for (const [name, token] of [['WRITE_TOKEN', writeToken], ['READ_TOKEN', readToken]] as const) {
    if (token === undefined) continue;
    if (token.length < MIN_TOKEN_LENGTH) problems.push(`${name}: too short (${token.length} characters); use at least ${MIN_TOKEN_LENGTH}, e.g. openssl rand -hex 32`);
    else if (!TOKEN.test(token)) problems.push(`${name}: only letters, digits and - . _ ~ + / (then trailing =) can be sent as a bearer token`);
  }
  if (readToken !== undefined && writeToken === undefined) problems.push('READ_TOKEN is set but WRITE_TOKEN is missing: writes would stay open while reads are guarded');
  const allowedOrigins: string[] = [];
  for (const raw of (origins ?? '').split(',').map((o) => o.trim()).filter(Boolean)) {
    const origin = parseOrigin(raw);
    if (origin === undefined) problems.push(`ALLOWED_ORIGINS: ${JSON.stringify(raw)} is not an origin like https://example.com or http://localhost:8999`);
    else allowedOrigins.push(origin);
  }
  return { writeToken, readToken, allowedOrigins };
}

/** Browsers send the origin serialized (lowercase scheme and host, default port omitted): compare in that form. */
function parseOrigin(raw: string): string | undefined {
  try {
    const url = new URL(raw);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.pathname !== '/' || url.search || url.hash || url.username) return undefined;
    return url.origin;
  } catch {
    return undefined;
  }
}
