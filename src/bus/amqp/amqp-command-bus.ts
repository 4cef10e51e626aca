import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Command } from '../../domain/commands.js';
import type { Logger } from '../../logger.js';
import type { BatchHandler, CommandBus, Published } from '../command-bus.js';
import { CommandConsumer } from './command-consumer.js';
import { CommandPublisher } from './command-publisher.js';
import { topology, type Topology } from './topology.js';

/** The command queue on RabbitMQ: every instance publishes, the one active consumer commits. */
export class AmqpCommandBus implements CommandBus {
  private readonly names: Topology;
  private readonly publisher: CommandPublisher;
  private consumer: CommandConsumer | undefined;

  constructor(
    private readonly connection: AmqpConnectionManager,
    prefix: string,
    publishTimeoutMs: number,
    private readonly log: Logger,
  ) {
    this.names = topology(prefix);
    this.publisher = new CommandPublisher(connection, this.names, publishTimeoutMs, log);
  }

  get connected(): boolean {
    return this.publisher.ready && (this.consumer?.ready ?? true);
  }

  get published(): Published {
    return this.publisher.published;
  }

  send(command: Command): Promise<void> {
    return this.publisher.send(command);
  }

  /** Registers as a candidate consumer; the broker activates one at a time and fails over when it goes. */
  async consume(handler: BatchHandler, prefetch: number): Promise<void> {
    this.consumer = new CommandConsumer(this.connection, this.names, handler, prefetch, this.log);
    await this.consumer.waitForConnect();
  }

  async close(): Promise<void> {
    await this.consumer?.close();
    await this.publisher.close();
  }
}
