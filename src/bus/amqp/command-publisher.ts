import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Command } from '../../domain/commands.js';
import type { Published } from '../command-bus.js';
import type { Logger } from '../../logger.js';
import { openChannel, type ManagedChannel } from './channel.js';
import { COMMANDS_CONTENT_TYPE, encodeCommands } from './command-codec.js';
import { declareCommands, type Topology } from './topology.js';

/** Keeps one message (and one broker round trip) bounded whatever the load. */
const MAX_COMMANDS_PER_MESSAGE = 500;
const MAX_BYTES_PER_MESSAGE = 4 * 1024 * 1024;

/** The commands of one message, and the one promise they all share: the message's confirm. */
interface Group {
  readonly commands: Command[];
  bytes: number;
  readonly confirmed: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

function group(): Group {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const confirmed = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
  return { commands: [], bytes: 0, confirmed, resolve, reject };
}

/**
 * Publishes commands persistent, with confirms and `mandatory`. Commands sent during one
 * event-loop turn travel in one message: under load that divides the broker's per-message cost,
 * at rest it costs one setImmediate. A publish that is not confirmed within the timeout is
 * refused (the broker may still have it: command ids make the retry harmless).
 */
export class CommandPublisher {
  private readonly channel: ManagedChannel;
  private readonly returned = new Set<string>();
  /** This turn's messages, the last one still open. */
  private pending: Group[] = [];
  private scheduled = false;
  private readonly counts = { messages: 0, commands: 0 };

  constructor(
    connection: AmqpConnectionManager,
    private readonly names: Topology,
    private readonly publishTimeoutMs: number,
    private readonly log: Logger,
  ) {
    this.channel = openChannel(connection, 'commands.publish', log, (channel) => this.setup(channel), publishTimeoutMs);
  }

  get ready(): boolean {
    return this.channel.ready;
  }

  /** Messages handed to the channel so far and the commands in them, confirmed or not. */
  get published(): Published {
    return this.counts;
  }

  send(command: Command): Promise<void> {
    const bytes = Buffer.byteLength(command.key) + (command.type === 'PutValue' ? Buffer.byteLength(command.value) : 0) + 200;
    let open = this.pending.at(-1);
    if (!open || open.commands.length >= MAX_COMMANDS_PER_MESSAGE || (open.commands.length > 0 && open.bytes + bytes > MAX_BYTES_PER_MESSAGE)) {
      this.pending.push((open = group()));
    }
    open.commands.push(command);
    open.bytes += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return open.confirmed;
  }

  close(): Promise<void> {
    return this.channel.close();
  }

  private async setup(channel: ConfirmChannel): Promise<void> {
    // basic.return precedes the confirm of the same message on a channel, so the set is filled in time.
    channel.on('return', (message) => {
      const id = message.properties.messageId as string | undefined;
      if (id) this.returned.add(id);
    });
    await declareCommands(channel, this.names);
  }

  private flush(): void {
    this.scheduled = false;
    const groups = this.pending;
    this.pending = [];
    for (const g of groups) void this.publish(g);
  }

  private async publish(group: Group): Promise<void> {
    const { commands } = group;
    const messageId = commands.length === 1 ? commands[0]!.commandId : randomUUID();
    this.counts.messages++;
    this.counts.commands += commands.length;
    try {
      await this.channel.wrapper.publish('', this.names.commands, encodeCommands(commands), {
        persistent: true,
        mandatory: true,
        messageId,
        contentType: COMMANDS_CONTENT_TYPE,
        timeout: this.publishTimeoutMs,
      });
      if (this.returned.delete(messageId)) throw new Error(`the broker could not route the command message to ${this.names.commands}`);
      group.resolve();
    } catch (error) {
      this.log.warn({ err: error, commands: commands.length }, 'a command message was not confirmed');
      group.reject(error as Error);
    }
  }
}
