import { randomUUID } from 'node:crypto';
import { Counter, Gauge } from 'prom-client';
import { inject, injectable } from 'tsyringe';
import uWS, { type HttpRequest, type HttpResponse, type WebSocket, type WebSocketBehavior, type us_socket_context_t } from 'uWebSockets.js';
import type { EventBus } from '../bus/event-bus.js';
import type { Config } from '../config.js';
import { CONFIG, EVENT_BUS, KEYSPACE, LOGGER, METRICS, STORE } from '../container.js';
import { DriftError } from '../domain/errors.js';
import type { Change, ConnectionEvent } from '../domain/events.js';
import type { Keyspace } from '../domain/keyspace.js';
import { Access, bearerToken } from '../http/access.js';
import { errorReply } from '../http/errors.js';
import { Exchange } from '../http/exchange.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { Replicator } from '../replication/replicator.js';
import type { Store } from '../store/store.js';
import { ChangeRing } from './change-ring.js';
import { parseEventsQuery } from './events-query.js';
import { checkOrigin } from './origin.js';
import { connectionFrame, helloFrame } from './messages.js';
import { replay } from './replay.js';
import { CLOSE_GOING_AWAY, Session, type SocketData } from './session.js';

const MiB = 1024 * 1024;
/** Per socket: above this uWS refuses frames and the socket is closed (PITFALLS: publish would skip silently). */
const MAX_BACKPRESSURE = 4 * MiB;
/** nginx drops a proxied socket after 60 s of silence; uWS pings after this many idle seconds. */
const IDLE_TIMEOUT_S = 24;
const RING = { changes: 10_000, bytes: 64 * MiB };
const LIMITS = { heldChanges: 20_000, heldBytes: 16 * MiB, replayBackpressure: MAX_BACKPRESSURE / 4 };
const ANNOUNCE_TIMEOUT_MS = 1000;

/** `/events` (DESIGN §6): every applied change and every connection event, to every open socket that wants it. */
@injectable()
export class LiveEvents {
  private readonly sessions = new Set<Session>();
  private readonly ring = new ChangeRing(RING);
  private readonly announcing = new Set<Promise<void>>();
  private stopping = false;
  private readonly connections: Gauge;
  private readonly slowCloses: Counter;

  constructor(
    @inject(KEYSPACE) private readonly keyspace: Keyspace,
    @inject(STORE) private readonly store: Store,
    @inject(EVENT_BUS) private readonly events: EventBus,
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
    @inject(METRICS) metrics: Metrics,
    @inject(Replicator) replicator: Replicator,
    @inject(Access) private readonly access: Access,
  ) {
    const registers = [metrics.registry];
    this.connections = new Gauge({ name: 'driftkv_ws_connections', help: 'Open /events sockets on this instance', registers });
    this.slowCloses = new Counter({ name: 'driftkv_ws_slow_closed_total', help: '/events sockets closed for not keeping up', registers });
    // A throw here would surface inside the replicator's apply loop: contain it.
    replicator.on('changes', (changes) => this.guard('changes', () => this.onChanges(changes)));
    replicator.on('reset', (head) => this.guard('reset', () => this.onReset(head)));
    replicator.on('connection', (event) => this.guard('connection', () => this.onConnection(event)));
  }

  behavior(): WebSocketBehavior<SocketData> {
    return {
      compression: uWS.DISABLED,
      maxPayloadLength: 512,
      maxBackpressure: MAX_BACKPRESSURE,
      closeOnBackpressureLimit: 1,
      idleTimeout: IDLE_TIMEOUT_S,
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.upgrade(res, req, context),
      open: (ws) => this.guard('open', () => this.open(ws)),
      drain: (ws) => ws.getUserData().session?.onDrain(),
      close: (ws) => this.guard('close', () => this.close(ws)),
    };
  }

  /** Closes every socket with 1001 (clients reconnect elsewhere) and waits briefly for the announcements. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const session of [...this.sessions]) session.end(CLOSE_GOING_AWAY, 'server shutting down');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ANNOUNCE_TIMEOUT_MS)));
    await Promise.race([Promise.allSettled([...this.announcing]), timeout]);
    clearTimeout(timer);
  }

  /**
   * Synchronous: a foreign origin (403), a bad query (400) or a missing token (401) is refused
   * before the socket exists. Browsers cannot set headers on a websocket, so the token may come
   * as `?token=`.
   */
  private upgrade(res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
    const ex = new Exchange(res, (r) => r.writeHeader('X-Instance', this.config.instanceId));
    try {
      if (this.stopping) throw new DriftError('unavailable', 'the server is shutting down');
      checkOrigin(req.getHeader('origin'), req.getHeader('host'), this.config.allowedOrigins);
      const query = parseEventsQuery(req.getQuery() ?? '', this.config.maxKeyBytes);
      this.access.check('read', bearerToken(req.getHeader('authorization')) ?? query.token);
      const data: SocketData = { id: randomUUID(), query: { ...query, token: undefined } };
      res.upgrade(data, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'), req.getHeader('sec-websocket-extensions'), context);
    } catch (error) {
      ex.reply(errorReply(error));
    }
  }

  private open(ws: WebSocket<SocketData>): void {
    const data = ws.getUserData();
    const session = new Session(ws, data.id, data.query.prefix, LIMITS, () => this.slowCloses.inc());
    data.session = session;
    this.sessions.add(session);
    this.connections.set(this.sessions.size);
    const revision = this.keyspace.revision;
    session.sendFrames([helloFrame(this.config.instanceId, revision, session.id)]);
    this.announce('connection.opened', session.id);
    if (data.query.since === undefined) session.sent = revision;
    else void this.catchUp(session, data.query.since, revision);
  }

  private async catchUp(session: Session, since: number, target: number): Promise<void> {
    session.startReplay(since);
    try {
      // A since beyond this instance may be another instance's newer revision (fine: wait for it)
      // or history that no longer exists (a wiped store): only the store's head tells them apart.
      const result = since > target ? (since > (await this.store.head()) ? 'reset' : 'done') : await replay(session, since, target, this.ring, this.store);
      if (!session.open || result === 'abandoned') return;
      if (result === 'reset') session.reset(this.keyspace.revision);
      else session.goLive();
    } catch (error) {
      this.log.warn({ err: error, connection: session.id }, 'replaying changes to a socket failed; closing it');
      session.end(1011, 'replay failed: reconnect with since');
    }
  }

  private close(ws: WebSocket<SocketData>): void {
    const session = ws.getUserData().session;
    if (!session) return;
    session.onClose();
    this.sessions.delete(session);
    this.connections.set(this.sessions.size);
    this.announce('connection.closed', session.id);
  }

  private onChanges(changes: readonly Change[]): void {
    this.ring.push(changes);
    for (const session of this.sessions) session.offer(changes);
  }

  private onReset(head: number): void {
    this.ring.clear(head);
    for (const session of this.sessions) session.reset(head);
  }

  private onConnection(event: ConnectionEvent): void {
    const frame = connectionFrame(event);
    for (const session of this.sessions) session.sendFrames([frame]);
  }

  /** Through the event bus, so every instance's sockets hear it (this one's included). */
  private announce(type: ConnectionEvent['type'], connection: string): void {
    const event: ConnectionEvent = { type, connection, instance: this.config.instanceId, at: new Date().toISOString() };
    const sent: Promise<void> = this.events
      .publish({ kind: 'connection', event })
      .catch((error: unknown) => this.log.debug({ err: error, connection }, 'announcing a connection event failed'))
      .finally(() => this.announcing.delete(sent));
    this.announcing.add(sent);
  }

  private guard(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.log.error({ err: error, what }, '/events handler failed');
    }
  }
}
