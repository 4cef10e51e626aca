import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Command } from '../../domain/commands.js';
import type { Logger } from '../../logger.js';
import type { BatchHandler } from '../command-bus.js';
import { openChannel, type ManagedChannel } from './channel.js';
import { decodeCommands } from './command-codec.js';
import { declareCommands, type Topology } from './topology.js';

interface Delivery {
  readonly channel: ConfirmChannel;
  readonly message: ConsumeMessage;
  readonly commands: Command[];
  readonly sentAt: number | undefined;
}

const RETRY_MAX_MS = 5000;
/**
 * How long a settled batch's acknowledgement may wait to travel with the next ones. Each ack is an
 * entry in the quorum queue's log; at low rates, where a batch holds one command, there was one
 * per write (bench/HISTORY.md).
 */
const ACK_DELAY_MS = 20;

/**
 * The single active consumer's side of the command queue. What arrived while the previous batch
 * was being written becomes the next batch (at most `prefetch` messages are unacknowledged); a
 * batch's write may be sent behind the one before it (see drain), but batches commit, announce and
 * are acknowledged in order. Acks go to the channel that delivered: a delivery
 * from a channel that has since closed is dropped, the broker redelivers it to whoever is active.
 */
export class CommandConsumer {
  private readonly channel: ManagedChannel;
  private readonly open = new WeakSet<ConfirmChannel>();
  private waiting: Delivery[] = [];
  private draining: Promise<void> | undefined;
  /** Wakes the drain loop when it waits for deliveries while a batch is being announced. */
  private arrived: (() => void) | undefined;
  private closing = false;
  /** Settled deliveries not yet acknowledged: the last one of each channel, and how many in all. */
  private settledLast = new Map<ConfirmChannel, ConsumeMessage>();
  private settledCount = 0;
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(
    connection: AmqpConnectionManager,
    private readonly names: Topology,
    private readonly handler: BatchHandler,
    private readonly prefetch: number,
    private readonly log: Logger,
  ) {
    this.channel = openChannel(connection, 'commands.consume', log, (channel) => this.setup(channel));
  }

  get ready(): boolean {
    return this.channel.ready;
  }

  waitForConnect(): Promise<void> {
    return this.channel.wrapper.waitForConnect();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.draining;
    this.sendAcks();
    await this.channel.close();
  }

  private async setup(channel: ConfirmChannel): Promise<void> {
    this.open.add(channel);
    channel.once('close', () => this.open.delete(channel));
    await declareCommands(channel, this.names);
    await channel.prefetch(this.prefetch, false);
    await channel.consume(this.names.commands, (message) => (message ? this.receive(channel, message) : this.cancelled(channel)), { noAck: false });
  }

  /** The broker cancels consumers of a deleted queue: declare it again and resume. */
  private cancelled(channel: ConfirmChannel): void {
    this.log.warn('the command queue consumer was cancelled by the broker; consuming again');
    setTimeout(() => {
      if (this.closing || !this.open.has(channel)) return;
      this.setup(channel).catch((err: unknown) => this.log.error({ err }, 'consuming the command queue again failed; waiting for a reconnect'));
    }, 1000).unref();
  }

  private receive(channel: ConfirmChannel, message: ConsumeMessage): void {
    let decoded: ReturnType<typeof decodeCommands>;
    try {
      decoded = decodeCommands(message.content);
    } catch (error) {
      this.log.error({ err: error, messageId: message.properties.messageId }, 'malformed command message: dead-lettered');
      channel.nack(message, false, false);
      return;
    }
    this.waiting.push({ channel, message, ...decoded });
    const wake = this.arrived;
    this.arrived = undefined;
    wake?.();
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /**
   * Batch N+1 is cut and handed over as soon as batch N's write is sent and batch N-1 is committed:
   * at most two writes are in flight, the second sent behind the first on the same connection, so
   * the store never waits for the consumer's turn between them. Commits and announcements stay in
   * order (each batch reads the store, and publishes, only after the one before it is committed),
   * and acks stay in order and after their own batch's confirms (DESIGN §4 rule 3).
   */
  private async drain(): Promise<void> {
    // One event-loop turn lets what the broker sent together arrive before the first batch starts.
    await new Promise<void>((r) => setImmediate(r));
    let acked: Promise<boolean> = Promise.resolve(true);
    let previous: Promise<void> = Promise.resolve();
    while (this.waiting.length > 0 && !this.closing) {
      const batch = this.waiting.splice(0);
      let sent!: () => void;
      let commit!: () => void;
      const sentDone = new Promise<void>((r) => (sent = r));
      const commitDone = new Promise<void>((r) => (commit = r));
      // Committed implies sent.
      const committed = () => (sent(), commit());
      const processed = this.process(batch, { sent, committed, previous }, acked);
      acked = processed;
      await Promise.all([sentDone, previous]);
      previous = commitDone;
      // Nothing new yet: wait for whichever comes first, a delivery or the end of this batch.
      if (this.waiting.length === 0) await Promise.race([processed, new Promise<void>((r) => (this.arrived = r))]);
    }
    await acked;
  }

  /**
   * Retries until it succeeds or its deliveries are stale: giving up would drop a durable command.
   * Resolves false when it leaves deliveries unacknowledged on an open channel (only when
   * closing): the batches after it must not be acknowledged either, since an ack covers every
   * earlier delivery of its channel and those must be redelivered.
   */
  private async process(
    batch: Delivery[],
    order: { sent: () => void; committed: () => void; previous: Promise<void> },
    acked: Promise<boolean>,
  ): Promise<boolean> {
    let settled = false;
    for (let attempt = 1; ; attempt++) {
      const live = batch.filter((d) => this.open.has(d.channel));
      if (live.length === 0) {
        settled = true; // stale: the broker redelivers these to whoever is active
        break;
      }
      try {
        const sent = live.flatMap((d) => (d.sentAt === undefined ? [] : [d.sentAt]));
        await this.handler(
          live.flatMap((d) => d.commands),
          { ...order, sentAt: sent.length > 0 ? Math.min(...sent) : undefined },
        );
        if (!(await acked)) break;
        this.ack(live);
        settled = true;
        break;
      } catch (error) {
        this.log.error({ err: error, attempt, messages: live.length }, 'a command batch failed; retrying it');
        await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, RETRY_MAX_MS)));
        if (this.closing) break;
      }
    }
    // Whatever happened, the next batch may go: its own commit is what decides.
    order.committed();
    return settled;
  }

  /**
   * Acknowledges a settled batch within ACK_DELAY_MS, together with the batches settled meanwhile;
   * at once when half the prefetch window is waiting, so the broker never stops delivering for it.
   * A consumer that dies in between leaves those commands to its successor, which finds them
   * committed and answers them from their stored outcomes, as for any redelivery.
   */
  private ack(deliveries: Delivery[]): void {
    for (const d of deliveries) this.settledLast.set(d.channel, d.message);
    this.settledCount += deliveries.length;
    if (this.closing || this.settledCount * 2 >= this.prefetch) this.sendAcks();
    else this.ackTimer ??= setTimeout(() => this.sendAcks(), ACK_DELAY_MS);
  }

  /** Deliveries are handled in order, so the last one of each channel acknowledges all before it. */
  private sendAcks(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    const last = this.settledLast;
    this.settledLast = new Map();
    this.settledCount = 0;
    for (const [channel, message] of last) {
      if (!this.open.has(channel)) continue;
      try {
        channel.ack(message, true);
      } catch (error) {
        this.log.warn({ err: error }, 'could not acknowledge a batch; it will be redelivered and answered from its stored outcomes');
      }
    }
  }
}
