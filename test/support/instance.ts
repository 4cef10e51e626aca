import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { serviceNodeFlags } from '../../scripts/start-command.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = resolve(ROOT, 'dist/src/main.js');
/** As users run it: package.json's start script's flags. */
const FLAGS = serviceNodeFlags(ROOT);

export interface Instance {
  readonly url: string;
  readonly port: number;
  readonly process: ChildProcess;
  readonly env: Record<string, string>;
  /** Everything the process printed so far (stdout and stderr), one entry per line. */
  readonly output: string[];
  /** SIGTERM, then waits; resolves with the exit code and how long the exit took. */
  stop(): Promise<{ code: number | null; ms: number }>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'driftkv-data-'));
}

/**
 * Starts the built service (dist/src/main.js) as a real process on a free port and waits until it
 * listens. Embedded by default; pass AMQP_URL and DATABASE_URL in `env` for the distributed mode.
 */
export async function startInstance(env: Record<string, string> = {}, timeoutMs = 30_000): Promise<Instance> {
  const fullEnv: Record<string, string> = { DATA_DIR: env.DATA_DIR ?? tempDataDir(), SERVER_PORT: '0', SERVER_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env };
  const child = spawn(process.execPath, [...FLAGS, MAIN], { env: { PATH: process.env.PATH ?? '', ...fullEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  createInterface({ input: child.stderr! }).on('line', (line) => output.push(line));
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // never leave a half-started process behind
      fail(new Error(`no "listening" within ${timeoutMs} ms:\n${output.join('\n')}`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (line.includes('"driftkv is listening"')) {
        clearTimeout(timer);
        done(JSON.parse(line).port);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`exited with ${code} before listening:\n${output.join('\n')}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    process: child,
    env: fullEnv,
    output,
    async stop() {
      const started = Date.now();
      if (child.exitCode === null) child.kill('SIGTERM');
      const code = await exited;
      return { code, ms: Date.now() - started };
    },
    async kill() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
