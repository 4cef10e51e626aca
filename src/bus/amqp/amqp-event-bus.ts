import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../../logger.js';
import type { BusMessage, EventBus } from '../event-bus.js';
import { openChannel, type ManagedChannel } from './channel.js';
import { declareEvents, topology, type Topology } from './topology.js';

const CONTENT_TYPE = 'application/vnd.driftkv.event+json';
/**
 * Manual acks with a window: the broker sends at most this many events ahead of the acks, so an
 * instance that stops reading (frozen, or its loop blocked) leaves the rest in its queue, where its
 * depth shows and a purge reaches them, not in its socket buffers. An event is acked as it arrives:
 * while the replicator catches up, what arrives waits in its task queue (about rate × catch-up time).
 */
const PREFETCH = 32;

/**
 * The events fanout. Each instance's queue is exclusive and server-named, so it dies with the
 * connection: it is declared, bound and consumed inside the channel setup (a remembered consumer
 * would point at the dead queue's name), and every setup after the first reports a resubscription
 * so that the replicator reads what was lost from the change log (DESIGN §4 rule 6).
 */
export class AmqpEventBus implements EventBus {
  private readonly names: Topology;
  private readonly channel: ManagedChannel;
  private subscriber: { handler: (m: BusMessage) => void; onResubscribed: () => void; setups: number } | undefined;
  private firstBinding: { promise: Promise<void>; resolve: () => void } | undefined;
  /** Marks the batches this process published (and already handed over here): their copies need no parsing. */
  private readonly origin = randomUUID();

  constructor(
    connection: AmqpConnectionManager,
    prefix: string,
    private readonly publishTimeoutMs: number,
    private readonly log: Logger,
  ) {
    this.names = topology(prefix);
    this.channel = openChannel(connection, 'events', log, (channel) => declareEvents(channel, this.names), publishTimeoutMs);
  }

  get connected(): boolean {
    return this.channel.ready;
  }

  /**
   * A committed batch reaches this instance at once, in-process, while its copy goes through the
   * broker to every instance: the copy that comes back later is a duplicate, which the replicator
   * ignores by revision. The writes this instance's consumer commits are answered a broker round
   * trip sooner. Other messages are not idempotent, so they come back only through the broker.
   * The copy is recognised by its origin (a tag of this process, not the instance id, which two
   * processes could share by mistake) and dropped unread.
   */
  async publish(message: BusMessage): Promise<void> {
    const content = Buffer.from(JSON.stringify(message));
    const local = message.kind === 'batch';
    if (local) this.deliverHere(message);
    await this.channel.wrapper.publish(this.names.events, '', content, {
      contentType: CONTENT_TYPE,
      timeout: this.publishTimeoutMs,
      ...(local ? { appId: this.origin } : {}),
    });
  }

  /** Resolves once the first queue is bound: a snapshot read afterwards misses no event (rule 5). */
  async subscribe(handler: (message: BusMessage) => void, onResubscribed: () => void): Promise<void> {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.firstBinding = { promise, resolve };
    this.subscriber = { handler, onResubscribed, setups: 0 };
    await this.channel.wrapper.addSetup((channel: ConfirmChannel) => this.bind(channel));
    await promise;
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  private async bind(channel: ConfirmChannel): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    // Setups run concurrently on a reconnect: this one cannot count on the exchange declared by the other.
    await declareEvents(channel, this.names);
    const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
    await channel.bindQueue(queue, this.names.events, '');
    await channel.prefetch(PREFETCH, false);
    await channel.consume(queue, (m) => (m ? this.receive(channel, m) : this.cancelled(channel)), { noAck: false });
    subscriber.setups++;
    this.log.debug({ queue }, 'event queue bound');
    if (subscriber.setups === 1) this.firstBinding?.resolve();
    else subscriber.onResubscribed();
  }

  /** The broker cancels a consumer whose queue was deleted: bind a new one, and catch up like after a reconnect. */
  private cancelled(channel: ConfirmChannel): void {
    this.log.warn('the event queue was cancelled by the broker; binding a new one');
    this.bind(channel).catch((err: unknown) => this.log.error({ err }, 'binding a new event queue failed; waiting for a reconnect'));
  }

  private receive(channel: ConfirmChannel, delivery: ConsumeMessage): void {
    try {
      channel.ack(delivery);
    } catch {
      // The channel closed meanwhile: the queue died with it, and the resubscription catches up.
    }
    if (delivery.properties.appId === this.origin) return;
    let message: BusMessage;
    try {
      message = JSON.parse(delivery.content.toString('utf8')) as BusMessage;
    } catch (error) {
      this.log.error({ err: error }, 'an event message is not JSON; ignored (the periodic head check covers it)');
      return;
    }
    this.deliverHere(message);
  }

  private deliverHere(message: BusMessage): void {
    try {
      this.subscriber?.handler(message);
    } catch (error) {
      this.log.error({ err: error }, 'handling an event failed');
    }
  }
}
