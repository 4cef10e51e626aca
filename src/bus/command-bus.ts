import type { Command } from '../domain/commands.js';

/**
 * How the bus hands a batch over. `sent`: the batch's write is on its way, and the next batch may
 * be decided and sent behind it. `committed`: the batch is committed (or given up), and the next
 * may be announced. `previous` resolves once the batch before was committed (or given up): a batch
 * reads the store, and announces, only after it. `sentAt`: when the oldest of its commands was
 * sent (epoch milliseconds, the sender's clock).
 */
export interface BatchOptions {
  readonly sent?: () => void;
  readonly committed?: () => void;
  readonly previous?: Promise<void>;
  readonly sentAt?: number;
}

/** Handles one batch; resolves once the batch's outcomes have been announced, so the bus may acknowledge it. */
export type BatchHandler = (commands: readonly Command[], batch?: BatchOptions) => Promise<void>;

/** The port between the instances that take writes and the one consumer that commits them. */
export interface CommandBus {
  /** Resolves once the command is durable: confirmed by the broker, or (embedded) committed. */
  send(command: Command): Promise<void>;
  /** Starts delivering batches of up to `prefetch` commands, one batch at a time. */
  consume(handler: BatchHandler, prefetch: number): Promise<void>;
  readonly connected: boolean;
  /**
   * Command messages handed to the broker so far, and the commands in them (commands sent in one
   * event-loop turn travel together); none for a bus without messages.
   */
  readonly published?: Published;
  close(): Promise<void>;
}

export interface Published {
  readonly messages: number;
  readonly commands: number;
}
