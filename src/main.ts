import './container.js';
import uWS from 'uWebSockets.js';
import { buildApp, type App } from './app.js';
import { loadConfig } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { isKnownDriverFault } from './store/driver-faults.js';

/** The process: configuration, start, signals. Everything else is in app.ts. */
async function main(): Promise<void> {
  if (typeof (uWS as unknown as Record<string, unknown>).H3App !== 'function') {
    console.error(`driftkv: the native uWebSockets.js build did not load on Node ${process.version}; driftkv needs Node 20`);
    process.exit(1);
  }
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    for (const problem of loaded.problems) console.error(`driftkv: ${problem}`);
    process.exit(1);
  }
  const { config } = loaded;
  const log = createLogger(config.logLevel, config.instanceId);
  const app = await buildApp(config, log);
  guardAgainstDriverFaults(app, log);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      log.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 1000);
    hardStop.unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await app.start();
}

/**
 * The PostgreSQL driver can throw from a timer, or reject into nothing, when a backend is killed (see store/driver-faults.ts).
 * Batches are idempotent and retried, so that one error is survivable: log it, replace the
 * connections, go on. Every other uncaught error keeps Node's behaviour: report and exit.
 */
function guardAgainstDriverFaults(app: App, log: Logger): void {
  process.on('uncaughtException', (error, origin) => {
    if (isKnownDriverFault(error, origin)) {
      log.error({ err: error }, 'uncaught PostgreSQL driver fault (backend killed); replacing the database connections');
      app.resetDatabaseConnections();
      return;
    }
    log.fatal({ err: error }, 'uncaught exception');
    console.error(error);
    process.exit(1);
  });
}

main().catch((error: unknown) => {
  console.error(`driftkv: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
