import { compareKeys } from './key-order.js';

/**
 * Every stored answer (see Answer in keyspace.ts: `"<revision>"{"key":…,"value":…}`) as UTF-8 bytes
 * in large slabs outside the JS heap, found by key through an open-addressing hash table. Per key
 * this costs the answer's bytes plus about 35 bytes (a 12-byte header, alignment, a 4-byte location
 * per entry id and the index's slots), where a Map of strings cost a key string, a Map entry and a
 * string header (about 90 bytes) and kept a million long-lived strings for the garbage collector to
 * trace. A read hands uWS views of the bytes: no UTF-8 conversion per request. The key is not stored
 * twice: it is read back from the answer's `"key"` field.
 *
 * Laid out for a read's cache misses: a slot holds the answer's location with its key's hash, and
 * the answer's header (entry id, length, key and ETag lengths) sits right before its bytes, so a GET
 * of a random key among many touches one slot and the answer's own first bytes (locate, then
 * writeAt). Entry ids stay stable while answers move (a replaced answer is written elsewhere, and
 * compaction moves the live ones): per id, `locations` says where its answer lies now. Pure: no I/O.
 */

const SLAB_BYTES = 4 * 1024 * 1024;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const KEY_FIELD_BYTES = '{"key":"'.length;
/** A key of visible ASCII with no `"` or `\`: its JSON form is itself, one byte per character. */
const PLAIN_KEY = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/**
 * A location, 32 bits: in a shared slab, the slab's number << OFFSET_BITS | the header's byte
 * offset / ALIGN (shared slabs of up to 4 MiB, 2^OFFSET_BITS × ALIGN, and SHARED_SLABS of them: 16
 * GiB of answers); for an answer in a slab of its own, BIG + that slab's number among such slabs
 * (as many as there are answers). Slab numbers from SHARED_SLABS on are the own slabs'.
 */
const ALIGN = 8;
const OFFSET_BITS = 19;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
const SHARED_SLABS = 2 ** (31 - OFFSET_BITS);
const BIG = 2 ** 31;
/** An entry id without an answer. */
const FREE = 0xffffffff;
/** Before each answer, three 32-bit words: */
const HEADER = 12;
const ID = 0;
const LENGTH = 1;
/** Byte length of the key's JSON form (without quotes) << 1, | 1 when it holds an escape; | the ETag's length (`"<revision>"`) << ETAG_SHIFT. */
const INFO = 2;
const ETAG_SHIFT = 24;
const KEY_INFO_MASK = (1 << ETAG_SHIFT) - 1;

/** Where writeAt sends an answer: uWebSockets.js's HttpResponse has this shape. */
export interface AnswerWriter {
  writeHeader(name: Uint8Array, value: Uint8Array): { end(body: Uint8Array): unknown };
}

export class AnswerTable {
  /** Per entry id, the location of its answer (FREE: none). */
  private locations = new Uint32Array(1024);
  private ids = 0;
  private readonly freeIds: number[] = [];
  // The index: per slot, location + 1 (0: empty) then the key's hash; linear probing, deletion by backward shift.
  private slots = new Int32Array(2048 * 2);
  private count = 0;
  // The arena.
  // Per slab number; filled up to SHARED_SLABS, so that the own slabs' numbers follow without a hole.
  private readonly slabs: (Buffer | undefined)[] = new Array<undefined>(SHARED_SLABS).fill(undefined);
  private readonly buffers: (ArrayBuffer | undefined)[] = new Array<undefined>(SHARED_SLABS).fill(undefined);
  private readonly words: (Uint32Array | undefined)[] = new Array<undefined>(SHARED_SLABS).fill(undefined);
  private readonly live: number[] = new Array<number>(SHARED_SLABS).fill(0);
  private sharedSlabs = 0;
  private readonly freeShared: number[] = [];
  private readonly freeOwn: number[] = [];
  private current = -1;
  private used: number;
  private slabBytes = 0;
  private liveBytes = 0;

  /** `unit`: the size of a slab's unit; an answer over a quarter of it gets a slab of its own, freed as soon as it is replaced. */
  constructor(private readonly unit = SLAB_BYTES) {
    if (unit > SLAB_BYTES || unit % ALIGN !== 0) throw new Error(`a slab unit is a multiple of ${ALIGN} bytes up to ${SLAB_BYTES}`);
    this.used = unit;
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held outside the JS heap, and how many of them belong to live answers (with their headers). */
  get arena(): { bytes: number; live: number } {
    return { bytes: this.slabBytes, live: this.liveBytes };
  }

  /** The entry id stored under `key`, or -1. `hash`: hashKey(key), signed or not. */
  find(key: string, hash = hashKey(key)): number {
    const slot = this.slotOf(key, hash | 0);
    return slot < 0 ? -1 : this.idAt(this.locationIn(slot));
  }

  /**
   * The location of the answer stored under `key`, for etagAt and writeAt, or -1: the read path,
   * which touches no per-id array. Valid until the table is next changed.
   */
  locate(key: string, hash = hashKey(key)): number {
    const slot = this.slotOf(key, hash | 0);
    return slot < 0 ? -1 : this.locationIn(slot);
  }

  /**
   * Stores `answer` (built by answerOf for `key`, as a string or as its UTF-8 bytes, which are
   * copied) under `key`, replacing what was there; returns its entry id.
   */
  set(key: string, answer: string | Uint8Array): number {
    const hash = hashKey(key);
    const slot = this.slotOf(key, hash);
    if (slot < 0) return this.add(key, answer, hash);
    const old = this.locationIn(slot);
    const id = this.idAt(old);
    const space = this.spaceAt(old);
    // The new bytes first: releasing may compact the arena, which must not move the old ones.
    this.slots[slot] = this.store(id, this.infoAt(old) & KEY_INFO_MASK, answer) + 1;
    this.release(slabOf(old), space);
    return id;
  }

  /** `set` for a key known to be absent (a snapshot's keys are unique): no lookup first. */
  add(key: string, answer: string | Uint8Array, hash = hashKey(key)): number {
    const keyInfo = checkedKeyInfo(PLAIN_KEY.test(key) ? key.length << 1 : ((Buffer.byteLength(JSON.stringify(key)) - 2) << 1) | 1);
    const id = this.claim();
    this.admit(this.store(id, keyInfo, answer), hash);
    return id;
  }

  /**
   * `add` for a snapshot's entry that arrives as bytes: a key known to be absent and plain (see
   * plainKeyHash, which gave `hash`), its answer the range [start, end) of `bytes`, copied. No
   * string is made for the key.
   */
  addPlain(hash: number, keyLength: number, bytes: Uint8Array, start: number, end: number): number {
    const keyInfo = checkedKeyInfo(keyLength << 1);
    const id = this.claim();
    this.admit(this.storeBytes(id, keyInfo, bytes, start, end), hash);
    return id;
  }

  /** Sizes the index for `entries` keys at once, instead of doubling (and rehashing) on the way there. */
  reserve(wanted: number): void {
    // A hint from a planner's estimate: never more than 16M keys' worth at once.
    const entries = Math.min(Math.max(0, wanted) || 0, 1 << 24);
    let size = this.slots.length;
    while (tooFull(entries, size)) size *= 2;
    if (size > this.slots.length) this.resize(size);
    let capacity = this.locations.length;
    while (capacity < entries) capacity *= 2;
    if (capacity > this.locations.length) this.growLocations(capacity);
  }

  /**
   * The key stored under `id` against `key`, in compareKeys' order (UTF-8 bytes): a plain stored
   * key is compared from its bytes, with no string made for it. A non-ASCII character of `key`
   * starts with a byte above every ASCII one, so the stored key is smaller there.
   */
  compareKey(id: number, key: string): number {
    const location = this.locations[id]!;
    const info = this.infoAt(location) & KEY_INFO_MASK;
    if (info & 1) return compareKeys(this.keyOf(location), key);
    const length = info >>> 1;
    const slab = this.slabs[slabOf(location)]!;
    const start = this.keyStart(location);
    const n = Math.min(length, key.length);
    for (let i = 0; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return -1;
      const d = slab[start + i]! - c;
      if (d !== 0) return d;
    }
    return length - key.length;
  }

  /**
   * The stored key of `id` against the key bytes [start, end) of `bytes`, in byte order (<0, 0,
   * >0); NaN when the stored key is not plain (its JSON form is not its bytes): compare strings then.
   */
  compareKeyBytes(id: number, bytes: Uint8Array, start: number, end: number): number {
    const location = this.locations[id]!;
    const info = this.infoAt(location) & KEY_INFO_MASK;
    if (info & 1) return NaN;
    const length = info >>> 1;
    const slab = this.slabs[slabOf(location)]!;
    const from = this.keyStart(location);
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
    const location = this.locationIn(slot);
    const id = this.idAt(location);
    const space = this.spaceAt(location);
    this.unplace(slot);
    this.locations[id] = FREE;
    this.release(slabOf(location), space);
    this.freeIds.push(id);
    this.count--;
    return true;
  }

  /** The key of an entry, read back from its answer. */
  keyAt(id: number): string {
    return this.keyOf(this.locations[id]!);
  }

  answerAt(id: number): string {
    const location = this.locations[id]!;
    const start = byteOffset(location) + HEADER;
    return this.slabs[slabOf(location)]!.toString('utf8', start, start + this.lengthAt(location));
  }

  /** The ETag of the answer at `location` (see locate), as a view of the stored bytes. */
  etagAt(location: number): Uint8Array {
    return new Uint8Array(this.buffers[slabOf(location)]!, byteOffset(location) + HEADER, this.infoAt(location) >>> ETAG_SHIFT);
  }

  /**
   * Writes the answer at `location` (see locate) to `to`: `headers` as a header name with the
   * ETag as its value, then the JSON body, both as views of the stored bytes. One call for both
   * views: the read path's slab and header words are looked up once.
   */
  writeAt(location: number, to: AnswerWriter, headers: Uint8Array): void {
    const slab = slabOf(location);
    const words = this.words[slab]!;
    const at = byteOffset(location);
    const word = at >>> 2;
    const etag = words[word + INFO]! >>> ETAG_SHIFT;
    const buffer = this.buffers[slab]!;
    to.writeHeader(headers, new Uint8Array(buffer, at + HEADER, etag)).end(new Uint8Array(buffer, at + HEADER + etag, words[word + LENGTH]! - etag));
  }

  /** The slot holding `key`, or -1. */
  private slotOf(key: string, hash: number): number {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = slots[i * 2]!;
      if (slot === 0) return -1;
      if (slots[i * 2 + 1] === hash && this.keyEquals((slot - 1) >>> 0, key)) return i * 2;
    }
  }

  /** The location held by the slot whose first word is `slot`. */
  private locationIn(slot: number): number {
    return (this.slots[slot]! - 1) >>> 0;
  }

  private headerWord(location: number, field: number): number {
    return this.words[slabOf(location)]![(byteOffset(location) >>> 2) + field]!;
  }

  private idAt(location: number): number {
    return this.headerWord(location, ID);
  }

  private lengthAt(location: number): number {
    return this.headerWord(location, LENGTH);
  }

  private infoAt(location: number): number {
    return this.headerWord(location, INFO);
  }

  /** The bytes the answer at `location` takes in its slab, header and alignment included. */
  private spaceAt(location: number): number {
    return spaceFor(this.lengthAt(location));
  }

  /** Where the key's JSON form starts in the stored answer, after `"<revision>"{"key":"`. */
  private keyStart(location: number): number {
    return byteOffset(location) + HEADER + (this.infoAt(location) >>> ETAG_SHIFT) + KEY_FIELD_BYTES;
  }

  private keyOf(location: number): string {
    const info = this.infoAt(location) & KEY_INFO_MASK;
    const start = this.keyStart(location);
    const json = this.slabs[slabOf(location)]!.toString(info & 1 ? 'utf8' : 'latin1', start, start + (info >>> 1));
    return info & 1 ? (JSON.parse(`"${json}"`) as string) : json;
  }

  /** Compares without decoding: a plain stored key against the key's characters, one byte each. */
  private keyEquals(location: number, key: string): boolean {
    const info = this.infoAt(location) & KEY_INFO_MASK;
    const length = info >>> 1;
    if (info & 1 || length !== key.length) return length >= key.length && this.keyOf(location) === key;
    const slab = this.slabs[slabOf(location)]!;
    const start = this.keyStart(location);
    for (let i = 0; i < length; i++) {
      const c = key.charCodeAt(i);
      if (c >= 0x80) return this.keyOf(location) === key;
      if (slab[start + i] !== c) return false;
    }
    return true;
  }

  /** A free entry id. */
  private claim(): number {
    const id = this.freeIds.pop();
    if (id !== undefined) return id;
    if (this.ids === this.locations.length) this.growLocations(this.locations.length * 2);
    return this.ids++;
  }

  /** Counts a new entry and puts its answer's location in the index, growing the index first when it is too full. */
  private admit(location: number, hash: number): void {
    this.count++;
    if (tooFull(this.count, this.slots.length)) this.resize(this.slots.length * 2);
    this.place(location + 1, hash);
  }

  private growLocations(capacity: number): void {
    const locations = new Uint32Array(capacity);
    locations.set(this.locations);
    this.locations = locations;
  }

  /** `reference`: a slot's first word, location + 1. */
  private place(reference: number, hash: number): void {
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    let i = hash & mask;
    while (slots[i * 2] !== 0) i = (i + 1) & mask;
    slots[i * 2] = reference;
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
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) this.place(old[i]!, old[i + 1]!);
  }

  /** Writes id's answer to new room and returns its location. */
  private store(id: number, keyInfo: number, answer: string | Uint8Array): number {
    if (typeof answer !== 'string') return this.storeBytes(id, keyInfo, answer, 0, answer.length);
    const length = Buffer.byteLength(answer);
    const location = this.allocate(spaceFor(length));
    this.slabs[slabOf(location)]!.write(answer, byteOffset(location) + HEADER, length, 'utf8');
    return this.placed(id, keyInfo, location, length);
  }

  private storeBytes(id: number, keyInfo: number, answer: Uint8Array, start: number, end: number): number {
    const length = end - start;
    const location = this.allocate(spaceFor(length));
    // A plain view: a Buffer's subarray costs a FastBuffer construction per entry.
    this.slabs[slabOf(location)]!.set(new Uint8Array(answer.buffer, answer.byteOffset + start, length), byteOffset(location) + HEADER);
    return this.placed(id, keyInfo, location, length);
  }

  /** Writes the header of the answer just stored at `location`, and records it as id's. */
  private placed(id: number, keyInfo: number, location: number, length: number): number {
    const slab = slabOf(location);
    const bytes = this.slabs[slab]!;
    const start = byteOffset(location) + HEADER;
    let end = start + 1;
    while (bytes[end] !== 0x22) end++;
    const words = this.words[slab]!;
    const word = byteOffset(location) >>> 2;
    words[word + ID] = id;
    words[word + LENGTH] = length;
    words[word + INFO] = keyInfo | ((end + 1 - start) << ETAG_SHIFT);
    this.locations[id] = location;
    return location;
  }

  /** Room for `space` bytes (a multiple of ALIGN): its location. */
  private allocate(space: number): number {
    this.liveBytes += space;
    if (space > this.unit / 4) {
      const slab = this.newSlab(space, true);
      this.live[slab] = space;
      return locationOf(slab, 0);
    }
    if (this.used + space > this.unit) {
      this.current = this.newSlab(this.unit, false);
      this.used = 0;
    }
    const offset = this.used;
    this.used += space;
    this.live[this.current] = this.live[this.current]! + space;
    return locationOf(this.current, offset);
  }

  private release(slab: number, space: number): void {
    this.liveBytes -= space;
    this.live[slab] = this.live[slab]! - space;
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
    for (let slab = 0; slab < this.sharedSlabs; slab++) {
      const buffer = this.slabs[slab];
      if (buffer && slab !== this.current && this.live[slab]! * 3 < this.unit * 2) victims.add(slab);
    }
    if (victims.size === 0) return;
    for (let id = 0; id < this.ids; id++) {
      const from = this.locations[id]!;
      const source = slabOf(from);
      if (from === FREE || !victims.has(source)) continue;
      const space = this.spaceAt(from);
      this.liveBytes -= space;
      this.live[source] = this.live[source]! - space;
      const to = this.allocate(space);
      this.slabs[source]!.copy(this.slabs[slabOf(to)]!, byteOffset(to), byteOffset(from), byteOffset(from) + space);
      this.locations[id] = to;
      this.repoint(from, to);
    }
    for (const slab of victims) this.dropSlab(slab);
  }

  /** Points the slot that holds `from` at `to`, where the same answer now lies. */
  private repoint(from: number, to: number): void {
    const info = this.infoAt(to) & KEY_INFO_MASK;
    const start = this.keyStart(to);
    const hash = info & 1 ? hashKey(this.keyOf(to)) : plainKeyHash(this.slabs[slabOf(to)]!, start, start + (info >>> 1));
    const slots = this.slots;
    const mask = (slots.length >>> 1) - 1;
    const reference = (from + 1) | 0;
    let i = hash & mask;
    while (slots[i * 2] !== reference) i = (i + 1) & mask;
    slots[i * 2] = to + 1;
  }

  /** `own`: for one answer (numbered from SHARED_SLABS on), else a shared one. */
  private newSlab(bytes: number, own: boolean): number {
    const slab = own ? (this.freeOwn.pop() ?? this.slabs.length) : (this.freeShared.pop() ?? this.sharedSlabs++);
    if (slab >= SHARED_SLABS + BIG - 1) throw new Error('the answer arena ran out of slab numbers');
    if (!own && slab >= SHARED_SLABS) throw new Error('the answer arena is full: 16 GiB of answers in shared slabs');
    const buffer = Buffer.allocUnsafeSlow(bytes);
    this.slabs[slab] = buffer;
    this.buffers[slab] = buffer.buffer as ArrayBuffer;
    this.words[slab] = new Uint32Array(buffer.buffer, buffer.byteOffset, bytes >>> 2);
    this.live[slab] = 0;
    this.slabBytes += bytes;
    return slab;
  }

  private dropSlab(slab: number): void {
    this.slabBytes -= this.slabs[slab]!.length;
    this.slabs[slab] = undefined;
    this.buffers[slab] = undefined;
    this.words[slab] = undefined;
    this.live[slab] = 0;
    (slab < SHARED_SLABS ? this.freeShared : this.freeOwn).push(slab);
  }
}

function locationOf(slab: number, offset: number): number {
  return slab < SHARED_SLABS ? (slab << OFFSET_BITS) | (offset / ALIGN) : BIG + (slab - SHARED_SLABS);
}

function slabOf(location: number): number {
  return location < BIG ? location >>> OFFSET_BITS : SHARED_SLABS + (location - BIG);
}

function byteOffset(location: number): number {
  return location < BIG ? (location & OFFSET_MASK) * ALIGN : 0;
}

/** `keyInfo` (see INFO), refused before anything is stored when it does not fit beside the ETag's length. */
function checkedKeyInfo(keyInfo: number): number {
  if (keyInfo > KEY_INFO_MASK) throw new Error('a key too long for the answer table');
  return keyInfo;
}

/** The bytes an answer of `length` takes in a slab: its header, itself, and padding to ALIGN. */
function spaceFor(length: number): number {
  return Math.ceil((HEADER + length) / ALIGN) * ALIGN;
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

