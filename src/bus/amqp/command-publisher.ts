import { randomUUID } from 'node:crypto';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { ConfirmChannel } from 'amqplib';
import type { Command } from '../../domain/commands.js';
import type { Logger } from '../../logger.js';
import { openChannel, type ManagedChannel } from './channel.js';
import { COMMANDS_CONTENT_TYPE, encodeCommands } from './command-codec.js';
import { declareCommands, type Topology } from './topology.js';

/** Keeps one message (and one broker round trip) bounded whatever the load. */
const MAX_COMMANDS_PER_MESSAGE = 500;
const MAX_BYTES_PER_MESSAGE = 4 * 1024 * 1024;

interface Pending {
  readonly command: Command;
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
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
  private pending: Pending[] = [];
  private scheduled = false;

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

  send(command: Command): Promise<void> {
    return new Promise((resolve, reject) => {
      const bytes = Buffer.byteLength(command.key) + (command.type === 'PutValue' ? Buffer.byteLength(command.value) : 0) + 200;
      this.pending.push({ command, bytes, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
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
    const all = this.pending;
    this.pending = [];
    for (let start = 0; start < all.length; ) {
      let end = start;
      let bytes = 0;
      while (end < all.length && end - start < MAX_COMMANDS_PER_MESSAGE && (end === start || bytes + all[end]!.bytes <= MAX_BYTES_PER_MESSAGE)) {
        bytes += all[end]!.bytes;
        end++;
      }
      void this.publish(all.slice(start, end));
      start = end;
    }
  }

  private async publish(group: Pending[]): Promise<void> {
    const messageId = group.length === 1 ? group[0]!.command.commandId : randomUUID();
    try {
      await this.channel.wrapper.publish('', this.names.commands, encodeCommands(group.map((p) => p.command)), {
        persistent: true,
        mandatory: true,
        messageId,
        contentType: COMMANDS_CONTENT_TYPE,
        timeout: this.publishTimeoutMs,
      });
      if (this.returned.delete(messageId)) throw new Error(`the broker could not route the command message to ${this.names.commands}`);
      for (const p of group) p.resolve();
    } catch (error) {
      this.log.warn({ err: error, commands: group.length }, 'a command message was not confirmed');
      for (const p of group) p.reject(error as Error);
    }
  }
}
