import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG = ['--skip-systemctl-redirect', '15', 'main'];

/**
 * The shared RabbitMQ and PostgreSQL, stopped and started again. Every stop is paired with a
 * start in a finally block by the caller; `ensure*` repairs what a crashed run left behind.
 */
export const broker = {
  stop: () => run('rabbitmqctl', ['-q', 'stop_app']),
  async start(): Promise<void> {
    try {
      await run('rabbitmqctl', ['-q', 'start_app']);
    } catch {
      await run('rabbitmq-server', ['-detached']); // the node itself died
    }
    await run('rabbitmqctl', ['-q', 'await_startup'], { timeout: 120_000 });
  },
};

export const database = {
  restartImmediately: () => run('pg_ctlcluster', [...PG, 'restart', '-m', 'immediate'], { timeout: 60_000 }),
  async ensureRunning(): Promise<void> {
    const ready = await run('pg_isready', ['-h', '127.0.0.1', '-p', '5432', '-q']).then(() => true, () => false);
    if (!ready) await run('pg_ctlcluster', [...PG, 'start'], { timeout: 60_000 });
  },
};
