/**
 * Every stored answer (see Answer in keyspace.ts: `"<revision>"{"key":…,"value":…}`) as UTF-8 bytes
 * in large slabs outside the JS heap, found by key through an open-addressing hash table of entry
 * ids. Per key this costs the answer's bytes plus about 35 bytes of typed arrays, where a Map of
 * strings cost a key string, a Map entry and a string header (about 90 bytes) and kept a million
 * long-lived strings for the garbage collector to trace. A read hands uWS views of the bytes: no
 * UTF-8 conversion per request. The key is not stored twice: it is read back from the answer's
 * `"key"` field. Laid out for a read's few cache misses: a slot holds the id with its key's hash, and
 * an entry's fields sit side by side (a GET of a random key among many touches one slot, one entry
 * and the answer's bytes). Pure: no I/O.
 */

const SLAB_BYTES = 4 * 1024 * 1024;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const KEY_FIELD_BYTES = '{"key":"'.length;
/** A key of visible ASCII with no `"` or `\`: its JSON form is itself, one byte per character. */
const PLAIN_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Per entry id, FIELDS words of `entries`: */
const FIELDS = 4;
const OFFSET = 0;
const LENGTH = 1;
/** Byte length of the key's JSON form (without quotes) << 1, | 1 when it holds an escape. */
const KEY_INFO = 2;
/** The slab's number | the ETag's length (`"<revision>"`) << 16. */
const SLAB_ETAG = 3;

export class AnswerTable {
  private entries = new Uint32Array(1024 * FIELDS);
  private ids = 0;
  private readonly freeIds: number[] = [];
  // The index: per slot, id + 1 (0: empty) then the key's hash; linear probing, deletion by backward shift.
  private slots = new Int32Array(2048 * 2);
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

  /** The entry id stored under `key`, or -1. `hash`: hashKey(key), signed or not. */
  find(key: string, hash = hashKey(key)): number {
    const slot = this.slotOf(key, hash | 0);
    return slot < 0 ? -1 : this.slots[slot]! - 1;
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
      const slab = this.slabAt(found);
      const length = this.entries[found * FIELDS + LENGTH]!;
      this.store(found, answer);
      this.release(slab, length);
      return found;
    }
    return this.add(key, answer, hash);
  }

  /** `set` for a key known to be absent (a snapshot's keys are unique): no lookup first. */
  add(key: string, answer: string | Uint8Array, hash = hashKey(key)): number {
    const id = this.claim(PLAIN_KEY.test(key) ? key.length << 1 : ((Buffer.byteLength(JSON.stringify(key)) - 2) << 1) | 1);
    this.store(id, answer);
    this.admit(id, hash);
    return id;
  }

  /**
   * `add` for a snapshot's entry that arrives as bytes: a key known to be absent and plain (see
   * plainKeyHash, which gave `hash`), its answer the range [start, end) of `bytes`, copied. No
   * string is made for the key.
   */
  addPlain(hash: number, keyLength: number, bytes: Uint8Array, start: number, end: number): number {
    const id = this.claim(keyLength << 1);
    this.storeBytes(id, bytes, start, end);
    this.admit(id, hash);
    return id;
  }

  /** Sizes the index for `entries` keys at once, instead of doubling (and rehashing) on the way there. */
  reserve(wanted: number): void {
    // A hint from a planner's estimate: never more than 16M keys' worth at once.
    const entries = Math.min(Math.max(0, wanted) || 0, 1 << 24);
    let size = this.slots.length;
    while (tooFull(entries, size)) size *= 2;
    if (size > this.slots.length) this.resize(size);
    let capacity = this.entries.length;
    while (capacity < entries * FIELDS) capacity *= 2;
    if (capacity > this.entries.length) this.growEntries(capacity);
  }

  /**
   * The stored key of `id` against the key bytes [start, end) of `bytes`, in byte order (<0, 0,
   * >0); NaN when the stored key is not plain (its JSON form is not its bytes): compare strings then.
   */
  compareKeyBytes(id: number, bytes: Uint8Array, start: number, end: number): number {
    const info = this.entries[id * FIELDS + KEY_INFO]!;
    if (info & 1) return NaN;
    const length = info >>> 1;
    const slab = this.slabs[this.slabAt(id)]!;
    const from = this.keyStart(id);
    const n = Math.min(length, end - start);
    for (let i = 0; i < n; i++) {
      const d = slab[from + i]! - bytes[start + i]!;
      if (d !== 0) return d;
    }
    return length - (end - start);
  }

  delete(key: string): boolean {
    const slot = this.slotOf(key, hashKey(key));
    if (slot < 0) return false;
    const id = this.slots[slot]! - 1;
    this.unplace(slot);
    const length = this.entries[id * FIELDS + LENGTH]!;
    this.entries[id * FIELDS + LENGTH] = 0;
    this.release(this.slabAt(id), length);
    this.freeIds.push(id);
    this.count--;
    return true;
  }

  /** The key of an entry, read back from its answer. */
  keyAt(id: number): string {
    const info = this.entries[id * FIELDS + KEY_INFO]!;
    const start = this.keyStart(id);
    const json = this.slabs[this.slabAt(id)]!.toString(info & 1 ? 'utf8' : 'latin1', start, start + (info >>> 1));
    return info & 1 ? (JSON.parse(`"${json}"`) as string) : json;
  }

  answerAt(id: number): string {
    const offset = this.entries[id * FIELDS + OFFSET]!;
    return this.slabs[this.slabAt(id)]!.toString('utf8', offset, offset + this.entries[id * FIELDS + LENGTH]!);
  }

  /** The ETag at the head of the answer (`"<revision>"`), as a view of the stored bytes. */
  etagBytes(id: number): Uint8Array {
    const at = id * FIELDS;
    const slabEtag = this.entries[at + SLAB_ETAG]!;
    return new Uint8Array(this.buffers[slabEtag & 0xffff]!, this.entries[at + OFFSET]!, slabEtag >>> 16);
  }

  /** The JSON body that follows the ETag, as a view of the stored bytes. */
  bodyBytes(id: number): Uint8Array {
    const at = id * FIELDS;
    const slabEtag = this.entries[at + SLAB_ETAG]!;
    const etag = slabEtag >>> 16;
    return new Uint8Array(this.buffers[slabEtag & 0xffff]!, this.entries[at + OFFSET]! + etag, this.entries[at + LENGTH]! - etag);
  }

  /** The slot holding `key`, or -1. */
  private slotOf(key: string, hash: number): number {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = slots[i * 2]!;
      if (slot === 0) return -1;
      if (slots[i * 2 + 1] === hash && this.keyEquals(slot - 1, key)) return i * 2;
    }
  }

  private slabAt(id: number): number {
    return this.entries[id * FIELDS + SLAB_ETAG]! & 0xffff;
  }

  /** Where the key's JSON form starts in the stored answer, after `"<revision>"{"key":"`. */
  private keyStart(id: number): number {
    return this.entries[id * FIELDS + OFFSET]! + (this.entries[id * FIELDS + SLAB_ETAG]! >>> 16) + KEY_FIELD_BYTES;
  }

  /** Compares without decoding: a plain stored key against the key's characters, one byte each. */
  private keyEquals(id: number, key: string): boolean {
    const info = this.entries[id * FIELDS + KEY_INFO]!;
    const length = info >>> 1;
    if (info & 1 || length !== key.length) return length >= key.length && this.keyAt(id) === key;
    const slab = this.slabs[this.slabAt(id)]!;
    const start = this.keyStart(id);
    for (let i = 0; i < length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return this.keyAt(id) === key;
      if (slab[start + i] !== c) return false;
    }
    return true;
  }

  /** A free entry id, its key's KEY_INFO recorded. */
  private claim(keyInfo: number): number {
    let id = this.freeIds.pop();
    if (id === undefined) {
      if (this.ids * FIELDS === this.entries.length) this.growEntries(this.entries.length * 2);
      id = this.ids++;
    }
    this.entries[id * FIELDS + KEY_INFO] = keyInfo;
    return id;
  }

  /** Counts a new entry and puts it in the index, growing the index first when it is too full. */
  private admit(id: number, hash: number): void {
    this.count++;
    if (tooFull(this.count, this.slots.length)) this.resize(this.slots.length * 2);
    this.place(id, hash);
  }

  private growEntries(capacity: number): void {
    const entries = new Uint32Array(capacity);
    entries.set(this.entries);
    this.entries = entries;
  }

  private place(id: number, hash: number): void {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    let i = hash & mask;
    while (slots[i * 2] !== 0) i = (i + 1) & mask;
    slots[i * 2] = id + 1;
    slots[i * 2 + 1] = hash;
  }

  /** Backward-shift deletion: no tombstones, so lookups stay as short as the load allows. `slot`: its first word. */
  private unplace(slot: number): void {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    let i = slot >>> 1;
    slots[i * 2] = 0;
    for (let j = (i + 1) & mask; slots[j * 2] !== 0; j = (j + 1) & mask) {
      const home = slots[j * 2 + 1]! & mask;
      // Move j's entry back into the hole unless its home lies cyclically within (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i * 2] = slots[j * 2]!;
        slots[i * 2 + 1] = slots[j * 2 + 1]!;
        slots[j * 2] = 0;
        i = j;
      }
    }
  }

  private resize(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) this.place(old[i]! - 1, old[i + 1]!);
  }

  private store(id: number, answer: string | Uint8Array): void {
    if (typeof answer !== 'string') {
      this.storeBytes(id, answer, 0, answer.length);
      return;
    }
    const length = Buffer.byteLength(answer);
    const slab = this.allocate(length);
    const offset = this.offsetOfNewest(slab, length);
    this.slabs[slab]!.write(answer, offset, length, 'utf8');
    this.placed(id, slab, offset, length);
  }

  private storeBytes(id: number, answer: Uint8Array, start: number, end: number): void {
    const length = end - start;
    const slab = this.allocate(length);
    const offset = this.offsetOfNewest(slab, length);
    // A plain view: a Buffer's subarray costs a FastBuffer construction per entry.
    this.slabs[slab]!.set(new Uint8Array(answer.buffer, answer.byteOffset + start, length), offset);
    this.placed(id, slab, offset, length);
  }

  /** Records where id's answer now lies, and the length of the ETag at its head. */
  private placed(id: number, slab: number, offset: number, length: number): void {
    const bytes = this.slabs[slab]!;
    let end = offset + 1;
    while (bytes[end] !== 0x22) end++;
    const at = id * FIELDS;
    this.entries[at + OFFSET] = offset;
    this.entries[at + LENGTH] = length;
    this.entries[at + SLAB_ETAG] = slab | ((end + 1 - offset) << 16);
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
      const at = id * FIELDS;
      const from = this.slabAt(id);
      const length = this.entries[at + LENGTH]!;
      if (length === 0 || !victims.has(from)) continue;
      const source = this.slabs[from]!;
      const start = this.entries[at + OFFSET]!;
      this.liveBytes -= length;
      this.live[from] = this.live[from]! - length;
      const slab = this.allocate(length);
      const offset = this.offsetOfNewest(slab, length);
      source.copy(this.slabs[slab]!, offset, start, start + length);
      this.entries[at + OFFSET] = offset;
      this.entries[at + SLAB_ETAG] = slab | (this.entries[at + SLAB_ETAG]! & 0xffff0000);
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

/**
 * hashKey of the key whose UTF-8 bytes are [start, end) of `bytes`, when that key is plain (visible
 * ASCII without `"` or `\`: each byte is one UTF-16 code unit and its own JSON form); else -1.
 * Unsigned (hashKey(key) >>> 0), so that -1 can say "not plain".
 */
export function plainKeyHash(bytes: Uint8Array, start: number, end: number): number {
  let hash = FNV_OFFSET;
  for (let i = start; i < end; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return -1;
    hash = Math.imul(hash ^ c, FNV_PRIME);
  }
  return hash >>> 0;
}

/**
 * hashKey(key) >>> 0 in the same pass that looks for two code units the caller cannot take (the
 * read path: `%`, a path that needs decoding, and U+FFFD, an invalid byte): -1 when one is there.
 */
export function hashKeyWithout(key: string, a: number, b: number): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c === a || c === b) return -1;
    hash = Math.imul(hash ^ c, FNV_PRIME);
  }
  return hash >>> 0;
}

/** FNV-1a over the UTF-16 code units: both sides of a comparison have the key as a string. */
export function hashKey(key: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), FNV_PRIME);
  return hash;
}

/** Slots are pairs of words: more entries than 0.7 of the slots makes probes long. */
function tooFull(entries: number, slotWords: number): boolean {
  return entries * 20 > slotWords * 7;
}

