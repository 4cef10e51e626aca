import { fileURLToPath } from 'node:url';
import { inject, injectable } from 'tsyringe';
import uWS, { type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from 'uWebSockets.js';
import type { CommandBus } from '../bus/command-bus.js';
import type { EventBus } from '../bus/event-bus.js';
import type { Config } from '../config.js';
import { COMMAND_BUS, CONFIG, EVENT_BUS, KEYSPACE, LOGGER, METRICS } from '../container.js';
import { DriftError } from '../domain/errors.js';
import type { Keyspace } from '../domain/keyspace.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { Replicator } from '../replication/replicator.js';
import { Writer } from '../writes/writer.js';
import { Access, bearerToken, type Scope } from './access.js';
import { errorReply } from './errors.js';
import { Exchange, LATER, ReadHeaders, type Reply } from './exchange.js';
import { landingPage } from './routes/landing.js';
import { parseQuery } from './request.js';
import { health, metricsReply, readiness } from './routes/system.js';
import { deleteValue, getValue, listValues, putValue, readFromMemory, type ValuesDeps } from './routes/values.js';

type Handler = (ex: Exchange, req: HttpRequest) => Reply | Promise<Reply> | typeof LATER;

// Any other method is counted as OTHER: a label per client-chosen method would grow without bound.
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS']);

const TEMPLATE = fileURLToPath(new URL('../../../templates/index.hbs', import.meta.url));

/** The uWebSockets.js app: routes, the 404/405 fallbacks, and per-route metrics. */
@injectable()
export class HttpServer {
  readonly app: TemplatedApp = uWS.App();
  private listenSocket: us_listen_socket | null = null;
  private inFlight = 0;
  private readonly readHeaders: ReadHeaders;

  constructor(
    @inject(CONFIG) private readonly config: Config,
    @inject(KEYSPACE) private readonly keyspace: Keyspace,
    @inject(Writer) writer: Writer,
    @inject(Replicator) private readonly replicator: Replicator,
    @inject(COMMAND_BUS) private readonly commandBus: CommandBus,
    @inject(EVENT_BUS) private readonly eventBus: EventBus,
    @inject(METRICS) private readonly metrics: Metrics,
    @inject(LOGGER) private readonly log: Logger,
    @inject(Access) private readonly access: Access,
  ) {
    this.readHeaders = new ReadHeaders(config.instanceId);
    const values: ValuesDeps = { keyspace, writer, config, readHeaders: this.readHeaders };
    const landing = landingPage(TEMPLATE);
    const notAllowed = (allow: string): Handler => () => {
      throw new DriftError('method_not_allowed', 'method not allowed on this path', { allow });
    };
    this.app
      .get('/values/:key', this.memoryRead(values, this.route('value', (ex, req) => getValue(values, ex, req), 'read'), true))
      .get('/values/*', this.memoryRead(values, this.route('value', (ex, req) => getValue(values, ex, req), 'read')))
      .head('/values/*', this.route('value', (ex, req) => getValue(values, ex, req), 'read'))
      .put('/values/*', this.route('value', (ex, req) => putValue(values, ex, req), 'write'))
      .del('/values/*', this.route('value', (ex, req) => deleteValue(values, ex, req), 'write'))
      .any('/values/*', this.route('value', notAllowed('GET, HEAD, PUT, DELETE')))
      .get('/values', this.route('values', (ex, req) => listValues(values, ex, req), 'read'))
      .any('/values', this.route('values', notAllowed('GET')))
      .get('/', this.route('landing', (_ex, req) => landing({ instance: config.instanceId, keyspace, query: req.getQuery() ?? '', accept: req.getHeader('accept') }), 'read'))
      .get('/healthz', this.route('healthz', health))
      .get('/readyz', this.route('readyz', () => readiness(this.readiness())))
      .get('/metrics', this.route('metrics', () => metricsReply(this.metrics), 'read'))
      .any('/', this.route('landing', notAllowed('GET')))
      .any('/healthz', this.route('healthz', notAllowed('GET')))
      .any('/readyz', this.route('readyz', notAllowed('GET')))
      .any('/metrics', this.route('metrics', notAllowed('GET')))
      .any('/*', this.route('unknown', () => {
        throw new DriftError('not_found', 'no such path; see /values/{key}');
      }));
  }

  /** Requests whose answers are still being worked on (writes waiting for their outcome). */
  get pending(): number {
    return this.inFlight;
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.app.listen(this.config.host, this.config.port, (socket) => {
        if (!socket) {
          reject(new Error(`cannot listen on ${this.config.host}:${this.config.port}`));
          return;
        }
        this.listenSocket = socket;
        resolve(uWS.us_socket_local_port(socket));
      });
    });
  }

  stopAccepting(): void {
    if (this.listenSocket) uWS.us_listen_socket_close(this.listenSocket);
    this.listenSocket = null;
  }

  close(): void {
    this.stopAccepting();
    this.app.close();
  }

  private readiness() {
    const checks = { loaded: this.replicator.ready, commandBus: this.commandBus.connected, eventBus: this.eventBus.connected };
    return { ready: Object.values(checks).every(Boolean), checks, revision: this.keyspace.revision, lag: this.replicator.lag };
  }

  private readonly stampWithEtag = (): Uint8Array => this.readHeaders.at(this.keyspace.revision);

  private readonly stamp = (res: HttpResponse): void => {
    res.writeHeader('X-Instance', this.config.instanceId).writeHeader('X-Revision', String(this.keyspace.revision));
  };

  /**
   * The token comes from the Authorization header; the landing page also takes `?token=`, since a
   * browser opening a link cannot set headers (the page then carries it to /events and its fetches).
   */
  private authorize(scope: Scope, req: HttpRequest, name: string): void {
    if (scope === 'open') return;
    const header = bearerToken(req.getHeader('authorization'));
    this.access.check(scope, header ?? (name === 'landing' ? parseQuery(req.getQuery() ?? '').get('token') : undefined));
  }

  /** The read fast path (see readFromMemory) while reads need no token; everything else takes the general route. `single`: /values/:key. */
  private memoryRead(values: ValuesDeps, general: (res: HttpResponse, req: HttpRequest) => void, single = false) {
    if (this.config.readToken !== undefined) return general;
    const reads = this.metrics.memoryReads;
    return (res: HttpResponse, req: HttpRequest): void => {
      if (readFromMemory(values, res, req, single)) reads.count++;
      else general(res, req);
    };
  }

  private route(name: string, handler: Handler, scope: Scope = 'open') {
    const latency = this.metrics.latency.child(name);
    return (res: HttpResponse, req: HttpRequest): void => {
      const started = performance.now();
      const method = req.getMethod().toUpperCase();
      const ex = new Exchange(res, this.stamp, method === 'HEAD', this.stampWithEtag);
      // Settled once, whichever way the handler answers: at once, by a promise, or later (LATER).
      this.inFlight++;
      ex.settle = (answer, error) => {
        ex.settle = undefined;
        this.inFlight--;
        const reply = answer ?? this.failure(error);
        ex.reply(reply);
        this.metrics.requests.inc(name, METHODS.has(method) ? method : 'OTHER', String(reply.status));
        latency.observeSince(started);
      };
      let result: Reply | Promise<Reply> | typeof LATER;
      try {
        this.authorize(scope, req, name);
        result = handler(ex, req);
      } catch (error) {
        ex.fail(error);
        return;
      }
      if (result === LATER) return;
      if (result instanceof Promise) result.then((reply) => ex.settle?.(reply), (error: unknown) => ex.fail(error));
      else ex.settle?.(result);
    };
  }

  private failure(error: unknown): Reply {
    if (!(error instanceof DriftError)) this.log.error({ err: error }, 'request failed');
    return errorReply(error);
  }
}
