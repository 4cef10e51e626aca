import { spawn, type ChildProcess } from 'node:child_process';
import { clusterLog, prefixLines } from './output.js';

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

export interface ProcessSpec {
  readonly name: string;
  /** Called before every start, so a restart can adapt (a replica whose port was taken moves). */
  prepare(): Promise<Launch>;
  /** Resolves once the started process serves; the child is passed with a feed of its output lines. */
  untilUp(child: ChildProcess, lines: LineFeed): Promise<void>;
  /** How to ask for a graceful exit (nginx: SIGQUIT); SIGKILL follows after the stop bound. */
  readonly stopSignal: NodeJS.Signals;
}

export type LineFeed = (listener: (line: string) => void) => void;

const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 15_000;
/** A process that ran this long before dying is restarted at once-ish again, not after a long backoff. */
const STABLE_AFTER_MS = 30_000;

/**
 * One child process, restarted when it dies unless a stop was asked for. Restarts wait a growing
 * backoff, so a replica that cannot start (database gone) does not spin the CPU; the wait also
 * lets a Ctrl-C, which reaches the children too, mark the shutdown before any restart.
 */
export class Supervised {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private stopping = false;
  private backoffMs = FIRST_BACKOFF_MS;
  private restartTimer?: NodeJS.Timeout;
  private readonly listeners = new Set<(line: string) => void>();

  constructor(private readonly spec: ProcessSpec, private readonly stopTimeoutMs: number) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The first start: a failure is the caller's to report (no restart loop on a broken setup). */
  async start(): Promise<void> {
    const launch = await this.spec.prepare();
    const child = spawn(launch.command, [...launch.args], { env: launch.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const startedAt = Date.now();
    this.child = child;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    this.exited = new Promise((done) => child.once('exit', (code, signal) => ((exitCode = code), (exitSignal = signal), done())));
    prefixLines(child.stdout!, this.name, process.stdout, (line) => this.listeners.forEach((l) => l(line)));
    prefixLines(child.stderr!, this.name, process.stderr, (line) => this.listeners.forEach((l) => l(line)));
    child.once('error', (error) => clusterLog('process error', { process: this.name, err: error.message }, 'error'));
    clusterLog('process started', { process: this.name, pid: child.pid });
    const exited = this.exited.then(() => {
      throw new Error(`${this.name} exited (code ${exitCode}, signal ${exitSignal}) before serving`);
    });
    await Promise.race([this.spec.untilUp(child, (listener) => this.listeners.add(listener)), exited]);
    this.listeners.clear();
    clusterLog('process up', { process: this.name, pid: child.pid });
    void this.exited.then(() => this.onExit(child, startedAt, exitCode, exitSignal));
  }

  /** Stops without restarting: the stop signal, then SIGKILL when the bound passes. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(this.spec.stopSignal);
    const timer = setTimeout(() => {
      clusterLog('process did not stop in time; killing it', { process: this.name, pid: child.pid }, 'warn');
      child.kill('SIGKILL');
    }, this.stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Last resort (a second Ctrl-C, or this script exiting): no grace, no restart. */
  forceKill(): void {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** Sends a signal to the running process (nginx reloads its configuration on SIGHUP). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  private onExit(child: ChildProcess, startedAt: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping || this.child !== child) return;
    if (Date.now() - startedAt > STABLE_AFTER_MS) this.backoffMs = FIRST_BACKOFF_MS;
    clusterLog('process exited unexpectedly; restarting', { process: this.name, pid: child.pid, code, signal, inMs: this.backoffMs }, 'warn');
    this.restartTimer = setTimeout(() => void this.restart(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  private async restart(): Promise<void> {
    if (this.stopping) return;
    try {
      await this.start();
    } catch (error) {
      if (this.stopping) return;
      clusterLog('restart failed', { process: this.name, err: (error as Error).message }, 'error');
      const child = this.child;
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (child) await this.exited;
      if (child) this.onExit(child, Date.now(), child.exitCode, child.signalCode);
    }
  }
}
