import type { CommittedBatch, ConnectionEvent } from '../domain/events.js';

export type BusMessage =
  | { readonly kind: 'batch'; readonly batch: CommittedBatch }
  | { readonly kind: 'connection'; readonly event: ConnectionEvent };

/** Fan-out of what the consumer committed (and of websocket connections) to every instance. */
export interface EventBus {
  /** Resolves once the broker has confirmed the message. */
  publish(message: BusMessage): Promise<void>;
  /**
   * Binds this instance's queue and starts delivering to `handler`. Resolves once bound, so that
   * a snapshot taken afterwards misses nothing (DESIGN §4 rule 5). `onResubscribed` runs after every
   * reconnect: events published while disconnected are lost and must be read from the change log.
   */
  subscribe(handler: (message: BusMessage) => void, onResubscribed: () => void): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}
