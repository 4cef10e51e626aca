import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { LOAD_CPU, SERVICE_CPU, busyShare, coreTicks, cpuSeconds, exec } from './process.js';

const WRK_DIR = resolve(import.meta.dirname, '../wrk');

export interface WrkResult {
  readonly requests: number;
  readonly perSecond: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

/** Debian's wrk; installed on request (it is one small package), else a clear instruction. */
export function ensureWrk(): void {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return;
  } catch (error) {
    // wrk --version exits 1 after printing its version: only a missing binary is a problem.
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return;
  }
  if (process.getuid?.() === 0) {
    console.error('wrk is missing: apt-get install -y wrk');
    execFileSync('sh', ['-c', 'apt-get update -qq && apt-get install -y -qq wrk'], { stdio: 'inherit' });
    return;
  }
  throw new Error('wrk is missing: run `sudo apt-get update && sudo apt-get install -y wrk`');
}

/** One wrk run on the load core; `script` is a file of bench/wrk/. */
export async function wrk(url: string, options: { script: string; connections: number; seconds: number; env?: Record<string, string> }): Promise<WrkResult> {
  const { stdout } = await exec(
    'taskset',
    ['-c', LOAD_CPU, 'wrk', '-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '10s', '-s', resolve(WRK_DIR, options.script), url],
    { env: { ...process.env, BENCH_WRK_DIR: WRK_DIR, ...options.env }, maxBuffer: 1024 * 1024, timeout: (options.seconds + 60) * 1000 },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (!line) throw new Error(`wrk printed no summary:\n${stdout}`);
  const r = JSON.parse(line.slice('WRK_JSON '.length));
  const seconds = r.durationUs / 1e6;
  return {
    requests: r.requests,
    perSecond: r.requests / seconds,
    errors: r.connectErrors + r.readErrors + r.writeErrors + r.statusErrors + r.timeouts,
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    meanMs: r.meanUs / 1000,
  };
}

/**
 * One run of the GET script (bench/wrk/get.lua: random keys among `keys`, `depth` requests per
 * write) against the server at `url`, whose process is `pid`; with wrk's result, the server's CPU
 * time per answered request, in ns: the cost per request itself, less moved than the rate by a
 * neighbour taking the core for a while. Beside it, how busy each core was over the run (with
 * whatever else ran there): which of the two is the bottleneck.
 */
export async function wrkGet(
  url: string,
  pid: number,
  options: { keys: number; depth: number; connections: number; seconds: number },
): Promise<WrkResult & { cpuNsPerRequest: number; serviceCoreBusy: number; loadCoreBusy: number }> {
  const before = cpuSeconds(pid);
  const coresBefore = coreTicks();
  const result = await wrk(url, {
    script: 'get.lua',
    connections: options.connections,
    seconds: options.seconds,
    env: { BENCH_KEYS: String(options.keys), BENCH_PIPELINE: String(options.depth) },
  });
  const cpu = cpuSeconds(pid);
  const cores = coreTicks();
  return {
    ...result,
    cpuNsPerRequest: ((cpu - before) * 1e9) / Math.max(1, result.requests),
    serviceCoreBusy: busyShare(coresBefore, cores, SERVICE_CPU),
    loadCoreBusy: busyShare(coresBefore, cores, LOAD_CPU),
  };
}
