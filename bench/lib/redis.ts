import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { LOAD_CPU, SERVICE_CPU, exec, rssBytes, startPinned } from './process.js';

export interface Redis {
  readonly port: number;
  readonly pid: number;
  /** Writes keys 0..count-1 named by `keyOf`, each with a 100-byte value, through redis-cli --pipe. */
  fill(count: number, keyOf?: (i: number) => string): Promise<void>;
  memory(): Promise<{ rss: number; usedMemory: number }>;
  stop(): Promise<void>;
}

/** redis-benchmark's own key names for `-r count`. */
export const redisBenchKey = (i: number) => `key:${String(i).padStart(12, '0')}`;

export function valueOf(i: number): string {
  return i.toString(16).padStart(8, '0').repeat(13).slice(0, 100);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A private redis-server (no persistence) on the service core; null when redis is not installed. */
export async function startRedis(): Promise<Redis | null> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const port = await freePort();
  const server = await startPinned(SERVICE_CPU, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {}, (l) =>
    l.includes('Ready to accept connections'),
  );
  return {
    port,
    pid: server.pid,
    async fill(count, keyOf = redisBenchKey) {
      const cli = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'ignore', 'inherit'] });
      const done = new Promise<void>((resolve, reject) => cli.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`redis-cli --pipe exited ${code}`)))));
      const chunk: string[] = [];
      for (let i = 0; i < count; i++) {
        const key = keyOf(i);
        const value = valueOf(i);
        chunk.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`);
        if (chunk.length === 10_000 || i === count - 1) {
          if (!cli.stdin.write(chunk.join(''))) await new Promise((r) => cli.stdin.once('drain', r));
          chunk.length = 0;
        }
      }
      cli.stdin.end();
      await done;
    },
    async memory() {
      const { stdout } = await exec('redis-cli', ['-p', String(port), 'info', 'memory']);
      return { rss: rssBytes(server.pid), usedMemory: Number(stdout.match(/^used_memory:(\d+)/m)?.[1] ?? 0) };
    },
    stop: () => server.stop(),
  };
}

/** redis-benchmark GET of random keys among `keys`, on the load core; requests per second. */
export async function redisGet(port: number, keys: number, connections: number, pipeline: number, seconds: number): Promise<number> {
  const total = Math.round(seconds * (pipeline > 1 ? 250_000 : 50_000));
  const { stdout } = await exec(
    'taskset',
    ['-c', LOAD_CPU, 'redis-benchmark', '-p', String(port), '-t', 'get', '-c', String(connections), '-r', String(keys), '-d', '100', '-P', String(pipeline), '-n', String(total), '--csv'],
    { timeout: 300_000 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('"GET"'));
  if (!line) throw new Error(`redis-benchmark printed no GET line:\n${stdout}`);
  return Number(line.split(',')[1]!.replaceAll('"', ''));
}
