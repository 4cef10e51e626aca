/**
 * Every stored answer (see Answer in keyspace.ts: `"<revision>"{"key":…,"value":…}`) as UTF-8 bytes
 * in large slabs outside the JS heap, found by key through an open-addressing hash table of entry
 * ids. Per key this costs the answer's bytes plus about 30 bytes of typed arrays, where a Map of
 * strings cost a key string, a Map entry and a string header (about 90 bytes) and kept a million
 * long-lived strings for the garbage collector to trace. A read hands uWS views of the bytes: no
 * UTF-8 conversion per request. The key is not stored twice: it is read back from the answer's
 * `"key"` field. Pure: no I/O.
 */

const SLAB_BYTES = 4 * 1024 * 1024;
const KEY_FIELD_BYTES = '{"key":"'.length;
/** A key of visible ASCII with no `"` or `\`: its JSON form is itself, one byte per character. */
const PLAIN_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

export class AnswerTable {
  // Per entry id.
  private slabOf = new Uint16Array(1024);
  private offsetOf = new Uint32Array(1024);
  private lengthOf = new Uint32Array(1024);
  /** Byte length of the key's JSON form (without quotes) << 1, | 1 when it holds an escape. */
  private keyInfo = new Uint32Array(1024);
  private hashOf = new Int32Array(1024);
  private ids = 0;
  private readonly freeIds: number[] = [];
  // The index: id + 1 per slot, 0 for an empty one; linear probing, deletion by backward shift.
  private slots = new Int32Array(2048);
  private count = 0;
  // The arena.
  private readonly slabs: (Buffer | undefined)[] = [];
  private readonly buffers: (ArrayBuffer | undefined)[] = [];
  private readonly live: number[] = [];
  private readonly freeSlabs: number[] = [];
  private current = -1;
  private used: number;
  private slabBytes = 0;
  private liveBytes = 0;

  /** `unit`: the size of a slab's unit; an answer over a quarter of it gets a slab of its own, freed as soon as it is replaced. */
  constructor(private readonly unit = SLAB_BYTES) {
    this.used = unit;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held outside the JS heap, and how many of them belong to live answers. */
  get arena(): { bytes: number; live: number } {
    return { bytes: this.slabBytes, live: this.liveBytes };
  }

  /** The entry id stored under `key`, or -1. */
  find(key: string, hash = hashKey(key)): number {
    const mask = this.slots.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = this.slots[i]!;
      if (slot === 0) return -1;
      const id = slot - 1;
      if (this.hashOf[id] === hash && this.keyEquals(id, key)) return id;
    }
  }

  /**
   * Stores `answer` (built by answerOf for `key`, as a string or as its UTF-8 bytes, which are
   * copied) under `key`, replacing what was there; returns its entry id.
   */
  set(key: string, answer: string | Uint8Array): number {
    const hash = hashKey(key);
    const found = this.find(key, hash);
    if (found >= 0) {
      // The new bytes first: releasing may compact the arena, which must not move the old ones.
      const slab = this.slabOf[found]!;
      const length = this.lengthOf[found]!;
      this.store(found, answer);
      this.release(slab, length);
      return found;
    }
    return this.add(key, answer, hash);
  }

  /** `set` for a key known to be absent (a snapshot's keys are unique): no lookup first. */
  add(key: string, answer: string | Uint8Array, hash = hashKey(key)): number {
    const id = this.freeIds.length > 0 ? this.freeIds.pop()! : this.newId();
    const plain = PLAIN_KEY.test(key);
    this.keyInfo[id] = plain ? key.length << 1 : (Buffer.byteLength(JSON.stringify(key)) - 2) << 1 | 1;
    this.hashOf[id] = hash;
    this.store(id, answer);
    this.count++;
    if (this.count * 10 > this.slots.length * 7) this.resize(this.slots.length * 2);
    else this.place(id);
    return id;
  }

  delete(key: string): boolean {
    const id = this.find(key);
    if (id < 0) return false;
    this.unplace(id);
    const length = this.lengthOf[id]!;
    this.lengthOf[id] = 0;
    this.release(this.slabOf[id]!, length);
    this.freeIds.push(id);
    this.count--;
    return true;
  }

  /** The key of an entry, read back from its answer. */
  keyAt(id: number): string {
    const info = this.keyInfo[id]!;
    const start = this.keyStart(id);
    const json = this.slabs[this.slabOf[id]!]!.toString(info & 1 ? 'utf8' : 'latin1', start, start + (info >>> 1));
    return info & 1 ? (JSON.parse(`"${json}"`) as string) : json;
  }

  answerAt(id: number): string {
    const offset = this.offsetOf[id]!;
    return this.slabs[this.slabOf[id]!]!.toString('utf8', offset, offset + this.lengthOf[id]!);
  }

  /** The ETag at the head of the answer (`"<revision>"`), as a view of the stored bytes. */
  etagBytes(id: number): Uint8Array {
    return new Uint8Array(this.buffers[this.slabOf[id]!]!, this.offsetOf[id]!, this.etagLength(id));
  }

  /** The JSON body that follows the ETag, as a view of the stored bytes. */
  bodyBytes(id: number): Uint8Array {
    const etag = this.etagLength(id);
    return new Uint8Array(this.buffers[this.slabOf[id]!]!, this.offsetOf[id]! + etag, this.lengthOf[id]! - etag);
  }

  /** Where the key's JSON form starts in the stored answer, after `"<revision>"{"key":"`. */
  private keyStart(id: number): number {
    return this.offsetOf[id]! + this.etagLength(id) + KEY_FIELD_BYTES;
  }

  private etagLength(id: number): number {
    const slab = this.slabs[this.slabOf[id]!]!;
    const start = this.offsetOf[id]!;
    let i = start + 1;
    while (slab[i] !== 0x22) i++;
    return i + 1 - start;
  }

  /** Compares without decoding: a plain stored key against the key's characters, one byte each. */
  private keyEquals(id: number, key: string): boolean {
    const info = this.keyInfo[id]!;
    const length = info >>> 1;
    if (info & 1 || length !== key.length) return length >= key.length && this.keyAt(id) === key;
    const slab = this.slabs[this.slabOf[id]!]!;
    const start = this.keyStart(id);
    for (let i = 0; i < length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return this.keyAt(id) === key;
      if (slab[start + i] !== c) return false;
    }
    return true;
  }

  private newId(): number {
    if (this.ids === this.lengthOf.length) {
      const capacity = this.ids * 2;
      this.slabOf = grow(this.slabOf, new Uint16Array(capacity));
      this.offsetOf = grow(this.offsetOf, new Uint32Array(capacity));
      this.lengthOf = grow(this.lengthOf, new Uint32Array(capacity));
      this.keyInfo = grow(this.keyInfo, new Uint32Array(capacity));
      this.hashOf = grow(this.hashOf, new Int32Array(capacity));
    }
    return this.ids++;
  }

  private place(id: number): void {
    const mask = this.slots.length - 1;
    let i = this.hashOf[id]! & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = id + 1;
  }

  /** Backward-shift deletion: no tombstones, so lookups stay as short as the load allows. */
  private unplace(id: number): void {
    const mask = this.slots.length - 1;
    let i = this.hashOf[id]! & mask;
    while (this.slots[i] !== id + 1) i = (i + 1) & mask;
    this.slots[i] = 0;
    for (let j = (i + 1) & mask; this.slots[j] !== 0; j = (j + 1) & mask) {
      const home = this.hashOf[this.slots[j]! - 1]! & mask;
      // Move j's entry back into the hole unless its home lies cyclically within (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        this.slots[i] = this.slots[j]!;
        this.slots[j] = 0;
        i = j;
      }
    }
  }

  private resize(size: number): void {
    this.slots = new Int32Array(size);
    for (let id = 0; id < this.ids; id++) if (this.lengthOf[id]! > 0) this.place(id);
  }

  private store(id: number, answer: string | Uint8Array): void {
    const length = typeof answer === 'string' ? Buffer.byteLength(answer) : answer.length;
    const slab = this.allocate(length);
    const offset = this.offsetOfNewest(slab, length);
    if (typeof answer === 'string') this.slabs[slab]!.write(answer, offset, length, 'utf8');
    else this.slabs[slab]!.set(answer, offset);
    this.slabOf[id] = slab;
    this.offsetOf[id] = offset;
    this.lengthOf[id] = length;
  }

  private allocate(length: number): number {
    this.liveBytes += length;
    if (length > this.unit / 4) {
      const slab = this.newSlab(length);
      this.live[slab] = length;
      return slab;
    }
    if (this.used + length > this.unit) {
      this.current = this.newSlab(this.unit);
      this.used = 0;
    }
    this.used += length;
    this.live[this.current] = this.live[this.current]! + length;
    return this.current;
  }

  /** Where the bytes that `allocate` just made room for start. */
  private offsetOfNewest(slab: number, length: number): number {
    return slab === this.current ? this.used - length : 0;
  }

  private release(slab: number, length: number): void {
    this.liveBytes -= length;
    this.live[slab] = this.live[slab]! - length;
    if (this.live[slab] === 0 && slab !== this.current) this.dropSlab(slab);
    else if (this.slabBytes - this.liveBytes > Math.max(2 * this.unit, this.slabBytes / 3)) this.compact();
  }

  /**
   * Moves the answers of every slab less than two thirds full into the current one and frees those
   * slabs: whatever the pattern of writes, the arena stays within about 1.5x its live bytes (a
   * third of it garbage means some slab is under two thirds full). One pass over the entries; it
   * runs once per third of the arena rewritten.
   */
  private compact(): void {
    const victims = new Set<number>();
    for (let slab = 0; slab < this.slabs.length; slab++) {
      const buffer = this.slabs[slab];
      if (buffer && slab !== this.current && buffer.length === this.unit && this.live[slab]! * 3 < this.unit * 2) victims.add(slab);
    }
    if (victims.size === 0) return;
    for (let id = 0; id < this.ids; id++) {
      const from = this.slabOf[id]!;
      if (this.lengthOf[id]! === 0 || !victims.has(from)) continue;
      const source = this.slabs[from]!;
      const start = this.offsetOf[id]!;
      const length = this.lengthOf[id]!;
      this.liveBytes -= length;
      this.live[from] = this.live[from]! - length;
      const slab = this.allocate(length);
      const offset = this.offsetOfNewest(slab, length);
      source.copy(this.slabs[slab]!, offset, start, start + length);
      this.slabOf[id] = slab;
      this.offsetOf[id] = offset;
    }
    for (const slab of victims) this.dropSlab(slab);
  }

  private newSlab(bytes: number): number {
    const slab = this.freeSlabs.length > 0 ? this.freeSlabs.pop()! : this.slabs.length;
    if (slab > 0xffff) throw new Error('the answer arena ran out of slab numbers');
    const buffer = Buffer.allocUnsafeSlow(bytes);
    this.slabs[slab] = buffer;
    this.buffers[slab] = buffer.buffer as ArrayBuffer;
    this.live[slab] = 0;
    this.slabBytes += bytes;
    return slab;
  }

  private dropSlab(slab: number): void {
    this.slabBytes -= this.slabs[slab]!.length;
    this.slabs[slab] = undefined;
    this.buffers[slab] = undefined;
    this.live[slab] = 0;
    this.freeSlabs.push(slab);
  }
}

/** FNV-1a over the UTF-16 code units: both sides of a comparison have the key as a string. */
function hashKey(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash;
}

function grow<T extends Uint16Array | Uint32Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
