import { EventEmitter } from 'eventemitter3';
import type { BusMessage, EventBus } from '../event-bus.js';

/** Embedded mode's event bus: one process, so fan-out is an emitter and nothing is ever lost. */
export class MemoryEventBus implements EventBus {
  private readonly emitter = new EventEmitter<{ message: [BusMessage] }>();
  private closed = false;

  get connected(): boolean {
    return !this.closed;
  }

  async publish(message: BusMessage): Promise<void> {
    if (this.closed) throw new Error('event bus is closed');
    this.emitter.emit('message', message);
  }

  async subscribe(handler: (message: BusMessage) => void): Promise<void> {
    this.emitter.on('message', handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.emitter.removeAllListeners();
  }
}
