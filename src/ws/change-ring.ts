import type { Change } from '../domain/events.js';

export interface RingLimits {
  readonly changes: number;
  /** Bytes held: a count bound alone lets 1 MiB values take gigabytes. */
  readonly bytes: number;
}

/** A record: revision (f64), value length (u32, NONE for a deletion), key, command id and time lengths (u32 each), then their UTF-8 bytes. */
const HEAD = 24;
const NONE = 0xffffffff;
const FIRST_CAPACITY = 64 * 1024;

/**
 * The most recent applied changes, contiguous in revision, so a socket that reconnects with a
 * recent `since` is served from memory instead of the change log. Holds (floor, top]: everything
 * after `floor`, nothing before it.
 *
 * Every change passes through here and stays for the next 10,000: as objects in the JS heap each
 * would be copied by the young-generation collector and promoted, then collected again from the
 * old generation. They are kept as UTF-8 records in one circular byte buffer instead (outside
 * the heap), and made into objects again only when a replay reads them.
 */
export class ChangeRing {
  private buffer = Buffer.allocUnsafeSlow(0);
  /**
   * Logical byte offsets, growing without end, of the oldest record and of the end of the newest:
   * the buffer holds logical offset x at (x - origin) modulo its size.
   */
  private head = 0;
  private tail = 0;
  private origin = 0;
  /** Logical start of each held record, oldest first, in a circular list of capacity `limits.changes + 1`. */
  private readonly starts: Float64Array;
  private first = 0;
  private count = 0;
  private floor: number | undefined;

  constructor(private readonly limits: RingLimits) {
    this.starts = new Float64Array(limits.changes + 1);
  }

  get size(): number {
    return this.count;
  }

  push(changes: readonly Change[]): void {
    for (const change of changes) {
      if (this.floor === undefined) this.floor = change.revision - 1;
      else if (change.revision !== this.top() + 1) this.clear(change.revision - 1);
      this.append(change);
    }
  }

  /** Forgets everything: history up to `revision` is no longer served from here. */
  clear(revision: number): void {
    this.head = this.tail = this.origin = 0;
    this.first = this.count = 0;
    this.floor = revision;
  }

  /** Up to `limit` changes after `revision`, or undefined when the ring does not reach back that far. */
  after(revision: number, limit: number): Change[] | undefined {
    if (this.floor === undefined || revision < this.floor) return undefined;
    const changes: Change[] = [];
    for (let n = revision - this.floor; n < this.count && changes.length < limit; n++) changes.push(this.read(this.starts[(this.first + n) % this.starts.length]!));
    return changes;
  }

  private top(): number {
    return this.floor! + this.count;
  }

  private append(change: Change): void {
    const value = change.type === 'value.put' ? change.value : undefined;
    // At most three bytes per UTF-16 code unit: room is made for that, then what was written is kept.
    const room = HEAD + 3 * (change.key.length + (value?.length ?? 0) + change.commandId.length + change.at.length);
    const start = this.reserve(room);
    const buffer = this.buffer;
    const at = this.physical(start);
    let p = at + HEAD;
    const keyBytes = buffer.write(change.key, p, 'utf8');
    p += keyBytes;
    const valueBytes = value === undefined ? NONE : buffer.write(value, p, 'utf8');
    if (value !== undefined) p += valueBytes;
    const idBytes = buffer.write(change.commandId, p, 'utf8');
    p += idBytes;
    const atBytes = buffer.write(change.at, p, 'utf8');
    p += atBytes;
    buffer.writeDoubleLE(change.revision, at);
    buffer.writeUInt32LE(valueBytes, at + 8);
    buffer.writeUInt32LE(keyBytes, at + 12);
    buffer.writeUInt32LE(idBytes, at + 16);
    buffer.writeUInt32LE(atBytes, at + 20);
    this.starts[(this.first + this.count) % this.starts.length] = start;
    this.count++;
    this.tail = start + (p - at);
    this.evict();
    // After a burst of large values, give the memory back once little of it is in use.
    if (this.buffer.length > 4 * FIRST_CAPACITY && 8 * (this.tail - this.head) < this.buffer.length) this.resize(Math.max(FIRST_CAPACITY, 2 * (this.tail - this.head)));
  }

  /**
   * The logical offset where a record of up to `room` bytes can be written whole: the tail, or
   * the buffer's start when the record would not fit before its end (the bytes skipped belong to
   * nobody), in a buffer made larger (the held records copied in order) when neither has room.
   */
  private reserve(room: number): number {
    const capacity = this.buffer.length;
    const at = this.physical(this.tail);
    const skip = at + room > capacity ? capacity - at : 0;
    if (this.tail - this.head + skip + room <= capacity) return this.tail + skip;
    this.resize(Math.max(FIRST_CAPACITY, 2 * capacity, 2 * (this.tail - this.head + room)));
    return this.tail;
  }

  /** A buffer of `capacity` bytes holding the same records from its start, in order. */
  private resize(capacity: number): void {
    const next = Buffer.allocUnsafeSlow(capacity);
    const base = this.head;
    let written = 0;
    for (let n = 0; n < this.count; n++) {
      const slot = (this.first + n) % this.starts.length;
      const from = this.physical(this.starts[slot]!);
      const length = this.recordLength(from);
      this.buffer.copy(next, written, from, from + length);
      this.starts[slot] = base + written;
      written += length;
    }
    this.buffer = next;
    this.origin = base;
    this.tail = base + written;
  }

  private physical(logical: number): number {
    return this.buffer.length === 0 ? 0 : (logical - this.origin) % this.buffer.length;
  }

  private recordLength(at: number): number {
    const b = this.buffer;
    const value = b.readUInt32LE(at + 8);
    return HEAD + (value === NONE ? 0 : value) + b.readUInt32LE(at + 12) + b.readUInt32LE(at + 16) + b.readUInt32LE(at + 20);
  }

  private evict(): void {
    while (this.count > 0 && (this.count > this.limits.changes || this.tail - this.head > this.limits.bytes)) {
      this.first = (this.first + 1) % this.starts.length;
      this.count--;
      this.floor!++;
      this.head = this.count > 0 ? this.starts[this.first]! : this.tail;
    }
  }

  private read(logical: number): Change {
    const b = this.buffer;
    const at = this.physical(logical);
    const revision = b.readDoubleLE(at);
    const valueBytes = b.readUInt32LE(at + 8);
    let p = at + HEAD;
    const key = b.toString('utf8', p, (p += b.readUInt32LE(at + 12)));
    const value = valueBytes === NONE ? undefined : b.toString('utf8', p, (p += valueBytes));
    const commandId = b.toString('utf8', p, (p += b.readUInt32LE(at + 16)));
    const time = b.toString('utf8', p, p + b.readUInt32LE(at + 20));
    return value === undefined
      ? { type: 'value.deleted', key, revision, commandId, at: time }
      : { type: 'value.put', key, value, revision, commandId, at: time };
  }
}

export function weigh(change: Change): number {
  return 64 + change.key.length + (change.type === 'value.put' ? change.value.length : 0);
}
