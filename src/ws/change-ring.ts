import type { Change } from '../domain/events.js';

export interface RingLimits {
  readonly changes: number;
  /** Rough bytes (UTF-16 code units of keys and values): a count bound alone lets 1 MiB values take gigabytes. */
  readonly bytes: number;
}

/**
 * The most recent applied changes, contiguous in revision, so a socket that reconnects with a
 * recent `since` is served from memory instead of the change log. Holds (floor, top]: everything
 * after `floor`, nothing before it.
 */
export class ChangeRing {
  private items: Change[] = [];
  private start = 0;
  private bytes = 0;
  private floor: number | undefined;

  constructor(private readonly limits: RingLimits) {}

  get size(): number {
    return this.items.length - this.start;
  }

  push(changes: readonly Change[]): void {
    for (const change of changes) {
      if (this.floor === undefined) this.floor = change.revision - 1;
      else if (change.revision !== this.top() + 1) this.clear(change.revision - 1);
      this.items.push(change);
      this.bytes += weigh(change);
    }
    this.evict();
  }

  /** Forgets everything: history up to `revision` is no longer served from here. */
  clear(revision: number): void {
    this.items = [];
    this.start = 0;
    this.bytes = 0;
    this.floor = revision;
  }

  /** Up to `limit` changes after `revision`, or undefined when the ring does not reach back that far. */
  after(revision: number, limit: number): Change[] | undefined {
    if (this.floor === undefined || revision < this.floor) return undefined;
    const from = this.start + (revision - this.floor);
    return this.items.slice(from, Math.min(from + limit, this.items.length));
  }

  private top(): number {
    return this.floor! + this.size;
  }

  private evict(): void {
    while (this.size > 0 && (this.size > this.limits.changes || this.bytes > this.limits.bytes)) {
      const oldest = this.items[this.start]!;
      this.items[this.start] = undefined as never;
      this.start++;
      this.bytes -= weigh(oldest);
      this.floor = oldest.revision;
    }
    // Compacts in one copy once half the array is dead, so eviction stays O(1) amortised.
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }
}

export function weigh(change: Change): number {
  return 64 + change.key.length + (change.type === 'value.put' ? change.value.length : 0);
}
