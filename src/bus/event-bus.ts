import type { CommittedBatch, ConnectionEvent } from '../domain/events.js';

export type BusMessage =
  | { readonly kind: 'batch'; readonly batch: CommittedBatch }
  | { readonly kind: 'connection'; readonly event: ConnectionEvent };

/** Fan-out of what the consumer committed (and of websocket connections) to every instance. */
export interface EventBus {
  /** Resolves once the broker has confirmed the message. */
  publish(message: BusMessage): Promise<void>;
  /**
   * Binds this instance's queue and starts delivering to `handler`. Resolves once bound: from then
   * on nothing committed is missed, and what came before is in the snapshot or the change log
   * (DESIGN §4 rule 5; the replicator reads the snapshot meanwhile). `onResubscribed` runs after every
   * reconnect: events published while disconnected are lost and must be read from the change log.
   */
  subscribe(handler: (message: BusMessage) => void, onResubscribed: () => void): Promise<void>;
  readonly connected: boolean;
  close(): Promise<void>;
}
