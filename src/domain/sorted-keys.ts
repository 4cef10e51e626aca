import { compareKeys } from './key-order.js';

const CHUNK = 512;

/**
 * A sorted set of keys kept as a list of bounded sorted chunks: insert and delete cost
 * O(log n + CHUNK), a page from any position O(log n + page). A flat sorted array would
 * move megabytes per insert at a million keys; a tree would cost more memory per key.
 * It holds items (the keys themselves, or ids that `keyOf` turns into keys).
 */
export class SortedKeys<T = string> {
  private chunks: T[][] = [];

  /**
   * `compare`: the item's key against a key, in compareKeys' order; given when the items can be
   * compared without making their keys into strings (a search compares about log2(n) of them).
   */
  constructor(
    private readonly keyOf: (item: T) => string = (item) => item as unknown as string,
    private readonly compare: (item: T, key: string) => number = (item, key) => compareKeys(keyOf(item), key),
  ) {}

  /** Adds a key greater than every key held (a snapshot read in key order), filling chunks to the brim. */
  append(key: T): void {
    const last = this.chunks[this.chunks.length - 1];
    if (last === undefined || last.length >= CHUNK) this.chunks.push([key]);
    else last.push(key);
  }

  insert(item: T, key: string = this.keyOf(item)): void {
    if (this.chunks.length === 0) {
      this.chunks.push([item]);
      return;
    }
    const c = Math.min(this.chunkFor(key), this.chunks.length - 1);
    const chunk = this.chunks[c]!;
    const i = this.lowerBound(chunk, key);
    if (i < chunk.length && this.compare(chunk[i]!, key) === 0) return;
    chunk.splice(i, 0, item);
    if (chunk.length > CHUNK) this.chunks.splice(c + 1, 0, chunk.splice(CHUNK >> 1));
  }

  delete(key: string): void {
    const c = this.chunkFor(key);
    const chunk = this.chunks[c];
    if (!chunk) return;
    const i = this.lowerBound(chunk, key);
    if (i >= chunk.length || this.compare(chunk[i]!, key) !== 0) return;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.chunks.splice(c, 1);
  }

  clear(): void {
    this.chunks = [];
  }

  /** Keys from `start` on (inclusive, or strictly after it when `exclusive`), in byte order. */
  *from(start: string, exclusive: boolean): Generator<T> {
    let c = this.chunkFor(start);
    if (c >= this.chunks.length) return;
    let i = this.lowerBound(this.chunks[c]!, start);
    if (exclusive && i < this.chunks[c]!.length && this.compare(this.chunks[c]![i]!, start) === 0) i++;
    for (; c < this.chunks.length; c++, i = 0) {
      const chunk = this.chunks[c]!;
      for (; i < chunk.length; i++) yield chunk[i]!;
    }
  }

  /** Index of the first chunk whose last key is >= key (chunks.length when none). */
  private chunkFor(key: string): number {
    let lo = 0;
    let hi = this.chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.chunks[mid]!;
      if (this.compare(chunk[chunk.length - 1]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private lowerBound(chunk: T[], key: string): number {
    let lo = 0;
    let hi = chunk.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(chunk[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
