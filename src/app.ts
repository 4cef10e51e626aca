import { COMMAND_BUS, CONFIG, EVENT_BUS, KEYSPACE, LOGGER, METRICS, STORE } from './container.js';
import { container as rootContainer } from 'tsyringe';
import type { CommandBus } from './bus/command-bus.js';
import type { EventBus } from './bus/event-bus.js';
import { AmqpCommandBus } from './bus/amqp/amqp-command-bus.js';
import { AmqpEventBus } from './bus/amqp/amqp-event-bus.js';
import { connectBroker } from './bus/amqp/connection.js';
import { MemoryCommandBus } from './bus/memory/memory-command-bus.js';
import { MemoryEventBus } from './bus/memory/memory-event-bus.js';
import type { Config } from './config.js';
import { Consumer } from './consumer/consumer.js';
import { Keyspace } from './domain/keyspace.js';
import { Access } from './http/access.js';
import { HttpServer } from './http/server.js';
import type { Logger } from './logger.js';
import { createMetrics } from './metrics.js';
import { Replicator } from './replication/replicator.js';
import { PostgresStore } from './store/postgres-store.js';
import type { Store } from './store/store.js';
import { Writer } from './writes/writer.js';
import { LiveEvents } from './ws/live-events.js';

export interface App {
  readonly config: Config;
  /** The port actually listened on (SERVER_PORT=0 picks a free one). */
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** After a known driver fault: the database connections are replaced, the rest keeps running. */
  resetDatabaseConnections(): void;
}

interface Adapters {
  readonly store: Store;
  readonly commandBus: CommandBus;
  readonly eventBus: EventBus;
  readonly close: () => Promise<void>;
}

/** The composition root: picks the adapters for the mode and wires everything once. */
export async function buildApp(config: Config, log: Logger): Promise<App> {
  const adapters = await createAdapters(config, log);
  const keyspace = new Keyspace();
  const di = rootContainer.createChildContainer();
  let replicator: Replicator | undefined;
  const metrics = createMetrics({ revision: () => keyspace.revision, keys: () => keyspace.size, lag: () => replicator?.lag ?? 0, arena: () => keyspace.arena, published: () => adapters.commandBus.published });
  di.register(CONFIG, { useValue: config });
  di.register(LOGGER, { useValue: log });
  di.register(METRICS, { useValue: metrics });
  di.register(KEYSPACE, { useValue: keyspace });
  di.register(STORE, { useValue: adapters.store });
  di.register(COMMAND_BUS, { useValue: adapters.commandBus });
  di.register(EVENT_BUS, { useValue: adapters.eventBus });
  for (const singleton of [Access, Replicator, Writer, Consumer, HttpServer]) di.registerSingleton(singleton as never);
  replicator = di.resolve(Replicator);
  const http = di.resolve(HttpServer);
  const live = di.resolve(LiveEvents);
  http.app.ws('/events', live.behavior());
  const consumer = di.resolve(Consumer);
  let port = 0;

  return {
    config,
    get port() {
      return port;
    },
    async start() {
      replicator.bind();
      await adapters.store.migrate();
      await replicator.start();
      if (config.consumer) await consumer.start();
      port = await http.listen();
      log.info({ port, mode: config.mode, revision: keyspace.revision, keys: keyspace.size }, 'driftkv is listening');
    },
    resetDatabaseConnections() {
      adapters.store.resetConnections();
    },
    async stop() {
      http.stopAccepting();
      const deadline = Date.now() + config.shutdownTimeoutMs * 0.6;
      while (http.pending > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await live.stop();
      http.close();
      await adapters.commandBus.close();
      await replicator.stop();
      await adapters.eventBus.close();
      await adapters.close();
      log.info({ revision: keyspace.revision }, 'driftkv stopped');
    },
  };
}

async function createAdapters(config: Config, log: Logger): Promise<Adapters> {
  if (config.mode === 'distributed') return createDistributedAdapters(config, log);
  // Loaded only in this mode: PGlite's modules are a tenth of a second of every start otherwise.
  const { startEmbeddedDatabase } = await import('./store/pglite-server.js');
  const db = await startEmbeddedDatabase(config.dataDir);
  const store = new PostgresStore({ socketPath: db.socketPath, schema: 'public', maxConnections: 1, onNotice: (m) => log.debug(m) });
  return {
    store,
    commandBus: new MemoryCommandBus(),
    eventBus: new MemoryEventBus(),
    async close() {
      await store.close();
      await db.close();
    },
  };
}

/** Event publishes are bounded too: an unconfirmed batch announcement is retried, never left hanging. */
const EVENT_PUBLISH_TIMEOUT_MS = 10_000;
/** Batches run one at a time, so a few connections cover the consumer, snapshots and catch-up reads. */
const POOL_SIZE = 4;

function createDistributedAdapters(config: Config, log: Logger): Adapters {
  const store = new PostgresStore({ url: config.databaseUrl, schema: config.databaseSchema, maxConnections: POOL_SIZE, onNotice: (m) => log.debug(m) });
  const broker = connectBroker(config.amqpUrl!, `driftkv ${config.amqpPrefix} ${config.instanceId}`, log);
  return {
    store,
    commandBus: new AmqpCommandBus(broker, config.amqpPrefix, config.writeTimeoutMs, log),
    eventBus: new AmqpEventBus(broker, config.amqpPrefix, EVENT_PUBLISH_TIMEOUT_MS, log),
    async close() {
      await broker.close();
      await store.close();
    },
  };
}
