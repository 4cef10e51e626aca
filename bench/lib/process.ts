import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

export const exec = promisify(execFile);

/** The service gets core 0, load generators (and this process) core 1 (PITFALLS: load tests on 2 cores). */
export const SERVICE_CPU = '0';
export const LOAD_CPU = '1';

export interface Started {
  readonly process: ChildProcess;
  readonly pid: number;
  readonly output: string[];
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns `command` pinned to `cpu`; resolves once a stdout line satisfies `ready` (bounded by `timeoutMs`). */
export async function startPinned(
  cpu: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  ready: (line: string) => boolean,
  timeoutMs = 120_000,
): Promise<Started & { readyLine: string }> {
  const child = spawn('taskset', ['-c', cpu, command, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const readyLine = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`${command} not ready within ${timeoutMs} ms:\n${output.slice(-20).join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (output.length < 10_000) output.push(line);
      if (ready(line)) {
        clearTimeout(timer);
        done(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`${command} exited with ${code} before it was ready:\n${output.slice(-20).join('\n')}`));
    });
  });
  return { process: child, pid: child.pid!, output, exited, stop, readyLine };
}

/** Resident set size of a process, from /proc. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(status.match(/^VmRSS:\s+(\d+) kB$/m)?.[1] ?? 0) * 1024;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Jiffies per core so far (/proc/stat's `cpuN` lines): busy (all but idle and iowait) and in all. */
export function coreTicks(): Map<string, { busy: number; total: number }> {
  const ticks = new Map<string, { busy: number; total: number }>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const match = /^cpu(\d+) (.*)$/.exec(line);
    if (!match) continue;
    // user nice system idle iowait irq softirq steal (guest time is already inside user).
    const [user, nice, system, idle, iowait, irq, softirq, steal] = match[2]!.trim().split(/\s+/).map(Number) as number[];
    const busy = user! + nice! + system! + irq! + softirq! + steal!;
    ticks.set(match[1]!, { busy, total: busy + idle! + iowait! });
  }
  return ticks;
}

/** The share of time core `cpu` was busy between two coreTicks readings (0..1). */
export function busyShare(before: ReturnType<typeof coreTicks>, after: ReturnType<typeof coreTicks>, cpu: string): number {
  const a = before.get(cpu);
  const b = after.get(cpu);
  if (!a || !b || b.total === a.total) return 0;
  return (b.busy - a.busy) / (b.total - a.total);
}

/**
 * CPU seconds used so far by every process named `comm` (as /proc shows it: `postgres`,
 * `beam.smp`), with the children they have reaped: a PostgreSQL backend that exits between two
 * readings still counts, through the postmaster.
 */
export function cpuSecondsOfAll(comm: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const close = stat.lastIndexOf(')');
    if (stat.slice(stat.indexOf('(') + 1, close) !== comm) continue;
    const fields = stat.slice(close + 2).split(' ');
    ticks += Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
  }
  return ticks / 100;
}

export async function loadAverage(): Promise<number> {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}
