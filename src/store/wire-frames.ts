/**
 * Splits the bytes a PostgreSQL server sends into its messages (a type byte, a 32-bit length that
 * counts itself, the body), as socket chunks arrive, and hands each body as a range of a buffer
 * valid only during the call: no object per message. A message split across chunks waits until
 * it is whole, and the pieces are joined once (a multi-megabyte row spans hundreds of chunks).
 * Pure: no I/O.
 */

export type FrameHandler = (type: number, bytes: Buffer, start: number, end: number) => void;

export class FrameReader {
  private parts: Buffer[] = [];
  private held = 0;
  /** Bytes the next message needs, counted from the first held byte. */
  private need = 5;

  constructor(private readonly onFrame: FrameHandler) {}

  push(chunk: Buffer): void {
    let at = 0;
    // A message begun in earlier chunks is completed with just the bytes it lacks, so only it is
    // copied, not every chunk it borders.
    while (this.held > 0) {
      const missing = this.need - this.held;
      if (chunk.length - at < missing) {
        this.hold(chunk.subarray(at));
        return;
      }
      this.hold(chunk.subarray(at, at + missing));
      at += missing;
      const joined = Buffer.concat(this.parts, this.held);
      this.parts = [];
      this.held = 0;
      const used = this.parse(joined, 0);
      if (used < joined.length) this.hold(joined.subarray(used));
    }
    const used = this.parse(chunk, at);
    if (used < chunk.length) this.hold(chunk.subarray(used));
  }

  private hold(bytes: Buffer): void {
    this.parts.push(bytes);
    this.held += bytes.length;
  }

  /** Hands over the whole messages of `bytes` from `at`; returns where the first incomplete one starts. */
  private parse(bytes: Buffer, from: number): number {
    const length = bytes.length;
    let at = from;
    for (;;) {
      if (length - at < 5) {
        this.need = 5;
        return at;
      }
      const size = ((bytes[at + 1]! << 24) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 8) | bytes[at + 4]!) >>> 0;
      if (size < 4) throw new Error(`invalid message length ${size} from the server`);
      const end = at + 1 + size;
      if (end > length) {
        this.need = 1 + size;
        return at;
      }
      this.onFrame(bytes[at]!, bytes, at + 5, end);
      at = end;
    }
  }
}
