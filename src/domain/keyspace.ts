import { AnswerTable, plainKeyHash, type AnswerWriter } from './answer-table.js';
import type { Change } from './events.js';
import { compareKeys } from './key-order.js';
import { SortedKeys } from './sorted-keys.js';

export class Entry {
  constructor(
    readonly value: string,
    readonly revision: number,
  ) {}
}

/** How a change met the keyspace (DESIGN §4 rule 4). */
export type ApplyResult = 'applied' | 'duplicate' | 'gap';

export interface PageQuery {
  readonly prefix: string;
  readonly after?: string;
  readonly limit: number;
}

export interface Page {
  readonly items: { key: string; value: string; revision: number }[];
  /** The cursor for the next page (the last key of this one), or null at the end. */
  readonly next: string | null;
}

/**
 * One entry, stored as the GET answer it produces: `"<revision>"{"key":…,"value":…}`, the ETag
 * followed by the JSON body. Built once per write, it is what a read needs with no encoding per
 * request; being rebuilt on every write, it cannot go stale. The keyspace keeps it as UTF-8 bytes
 * (AnswerTable).
 */
export type Answer = string;

const VALUE_FIELD = ',"value":';

export function answerOf(key: string, value: string, revision: number): Answer {
  // join() yields one flat string; a concatenation would keep a rope of its parts (twice the memory).
  return ['"', revision, '"{"key":', JSON.stringify(key), VALUE_FIELD, JSON.stringify(value), '}'].join('');
}

/** Length of the ETag at the head of an answer (`"` + digits + `"`). */
export function etagLength(answer: Answer): number {
  return answer.indexOf('"', 1) + 1;
}

export function revisionOf(answer: Answer): number {
  let revision = 0;
  for (let i = 1, c = answer.charCodeAt(1); c !== 0x22; c = answer.charCodeAt(++i)) revision = revision * 10 + (c - 0x30);
  return revision;
}

/** Inside JSON strings every `"` is escaped, so the first `,"value":` is the field separator. */
export function valueOf(answer: Answer): string {
  return JSON.parse(answer.slice(answer.indexOf(VALUE_FIELD) + VALUE_FIELD.length, -1)) as string;
}

/**
 * The whole key/value set of one instance, in memory, with the revision it has applied.
 * Pure: no I/O, no clock. Changes are applied strictly in revision order.
 */
export class Keyspace {
  private table = new AnswerTable();
  /** Entry ids in key order; their keys are read back from the table. */
  private index = indexOf(this.table);
  private applied = 0;
  /**
   * While a snapshot streams in key order into an empty keyspace: the id of the last entry loaded
   * (-1 before the first), so the next one is appended after a comparison with it. undefined once
   * anything else has touched the keyspace.
   */
  private lastLoaded: number | undefined = -1;

  get revision(): number {
    return this.applied;
  }

  get size(): number {
    return this.table.size;
  }

  /** Bytes of the answer arena (outside the JS heap), and how many of them are live. */
  get arena(): { bytes: number; live: number } {
    return this.table.arena;
  }

  get(key: string): Entry | undefined {
    const answer = this.answer(key);
    return answer === undefined ? undefined : new Entry(valueOf(answer), revisionOf(answer));
  }

  /** The stored answer for a GET of `key` (see Answer), as a string. */
  answer(key: string): Answer | undefined {
    const id = this.table.find(key);
    return id < 0 ? undefined : this.table.answerAt(id);
  }

  /** The revision of `key`'s value, read from its stored ETag; undefined when it has none. */
  revisionOf(key: string): number | undefined {
    const location = this.table.locate(key);
    if (location < 0) return undefined;
    const etag = this.table.etagAt(location);
    let revision = 0;
    for (let i = 1; i < etag.length - 1; i++) revision = revision * 10 + (etag[i]! - 0x30);
    return revision;
  }

  /**
   * Where the answer stored under `key` lies, for writeAt, or -1: a read without decoding
   * anything, valid until the keyspace next changes. `hash`: hashKey(key), if known.
   */
  locate(key: string, hash?: number): number {
    return this.table.locate(key, hash);
  }

  /** Writes the answer at `location` (see locate) to `to`: `headers` with the ETag as its value, then the body. */
  writeAt(location: number, to: AnswerWriter, headers: Uint8Array): void {
    this.table.writeAt(location, to, headers);
  }

  /** Applies revision r only right after r-1; older is a duplicate, newer a gap to fill first. */
  apply(change: Change): ApplyResult {
    if (change.revision <= this.applied) return 'duplicate';
    if (change.revision !== this.applied + 1) return 'gap';
    if (change.type === 'value.put') this.set(change.key, answerOf(change.key, change.value, change.revision));
    else this.remove(change.key);
    // The key may be past the last one loaded: later loads must look it up and search the index.
    this.lastLoaded = undefined;
    this.applied = change.revision;
    return 'applied';
  }

  /**
   * Snapshot loading: entries first, then the head revision they were read at. Entries read in
   * key order are appended to the index with one comparison each (a binary search per key was
   * a third of a cold start at a million keys); any other order still works.
   */
  load(key: string, answer: Answer | Uint8Array): void {
    const last = this.lastLoaded;
    if (last !== undefined && (last < 0 || compareKeys(this.table.keyAt(last), key) < 0)) this.append(this.table.add(key, answer));
    else this.set(key, answer);
  }

  /** A snapshot says about how many entries it holds: the table is sized once for them. */
  expect(entries: number): void {
    this.table.reserve(entries);
  }

  /**
   * `load` for an entry that arrives as bytes (its key's and its answer's UTF-8 bytes, ranges of
   * `bytes`): a plain key read in order is hashed, compared and stored from its bytes, with no
   * string made for it. Anything else goes through `load`.
   */
  entry(bytes: Uint8Array, keyStart: number, keyEnd: number, answerStart: number, answerEnd: number): void {
    const last = this.lastLoaded;
    const hash = last === undefined ? -1 : plainKeyHash(bytes, keyStart, keyEnd);
    if (hash >= 0 && (last! < 0 || this.table.compareKeyBytes(last!, bytes, keyStart, keyEnd) < 0)) {
      this.append(this.table.addPlain(hash, keyEnd - keyStart, bytes, answerStart, answerEnd));
      return;
    }
    const key = Buffer.from(bytes.buffer, bytes.byteOffset + keyStart, keyEnd - keyStart).toString('utf8');
    this.load(key, new Uint8Array(bytes.buffer, bytes.byteOffset + answerStart, answerEnd - answerStart));
  }

  loaded(head: number): void {
    this.applied = head;
    this.lastLoaded = undefined;
  }

  private append(id: number): void {
    this.index.append(id);
    this.lastLoaded = id;
  }

  /** Takes over a freshly loaded keyspace in one step, so readers never see a half-loaded one. */
  adopt(other: Keyspace): void {
    this.table = other.table;
    this.index = other.index;
    this.applied = other.applied;
    this.lastLoaded = undefined;
  }

  page(query: PageQuery): Page {
    const { prefix, after, limit } = query;
    const startAfter = after !== undefined && compareKeys(after, prefix) >= 0;
    const items: Page['items'] = [];
    for (const id of this.index.from(startAfter ? after : prefix, startAfter)) {
      const key = this.table.keyAt(id);
      if (!key.startsWith(prefix)) break;
      if (items.length === limit) return { items, next: items[items.length - 1]!.key };
      const answer = this.table.answerAt(id);
      items.push({ key, value: valueOf(answer), revision: revisionOf(answer) });
    }
    return { items, next: null };
  }

  private set(key: string, answer: Answer | Uint8Array): void {
    const known = this.table.size;
    const id = this.table.set(key, answer);
    if (this.table.size !== known) this.index.insert(id, key);
  }

  private remove(key: string): void {
    // The index finds the id through the table: out of the index first.
    if (this.table.find(key) < 0) return;
    this.index.delete(key);
    this.table.delete(key);
  }
}

function indexOf(table: AnswerTable): SortedKeys<number> {
  return new SortedKeys<number>(
    (id) => table.keyAt(id),
    (id, key) => table.compareKey(id, key),
  );
}
