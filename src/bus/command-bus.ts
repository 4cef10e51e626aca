import type { Command } from '../domain/commands.js';

/**
 * Handles one batch; resolves once the batch's outcomes have been announced, so the bus may
 * acknowledge it. `committed`, when given, is called as soon as the batch is committed: the bus may
 * then hand over the next batch while this one is still being announced. `sentAt`: when the
 * oldest of its commands was sent (epoch milliseconds, the sender's clock).
 */
export type BatchHandler = (commands: readonly Command[], batch?: { committed?: () => void; sentAt?: number }) => Promise<void>;

/** The port between the instances that take writes and the one consumer that commits them. */
export interface CommandBus {
  /** Resolves once the command is durable: confirmed by the broker, or (embedded) committed. */
  send(command: Command): Promise<void>;
  /** Starts delivering batches of up to `prefetch` commands, one batch at a time. */
  consume(handler: BatchHandler, prefetch: number): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}
