import type { Command } from '../../domain/commands.js';
import type { BatchHandler, CommandBus } from '../command-bus.js';

interface Queued {
  readonly command: Command;
  readonly sentAt: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * Embedded mode's command bus. There is no broker to make a command durable, so `send` resolves
 * only once the consumer has committed the command's batch: a 202 then means what it means with RabbitMQ.
 */
export class MemoryCommandBus implements CommandBus {
  private queue: Queued[] = [];
  private handler: BatchHandler | undefined;
  private prefetch = 1;
  private draining = false;
  private closed = false;

  get connected(): boolean {
    return !this.closed;
  }

  send(command: Command): Promise<void> {
    if (this.closed) return Promise.reject(new Error('command bus is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ command, sentAt: Date.now(), resolve, reject });
      void this.drain();
    });
  }

  async consume(handler: BatchHandler, prefetch: number): Promise<void> {
    this.handler = handler;
    this.prefetch = prefetch;
    void this.drain();
  }

  /** Lets the batch in flight finish; commands still queued are refused (their senders answer 503). */
  async close(): Promise<void> {
    this.closed = true;
    for (const queued of this.queue.splice(0)) queued.reject(new Error('command bus is closed'));
    while (this.draining) await new Promise((r) => setTimeout(r, 5));
  }

  private async drain(): Promise<void> {
    if (this.draining || !this.handler) return;
    this.draining = true;
    // One event-loop turn collects what arrived together into one batch.
    await new Promise<void>((r) => setImmediate(r));
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.prefetch);
        try {
          await this.handler(
            batch.map((q) => q.command),
            { sentAt: batch[0]!.sentAt },
          );
          for (const q of batch) q.resolve();
        } catch (error) {
          for (const q of batch) q.reject(error as Error);
        }
      }
    } finally {
      this.draining = false;
    }
  }
}
