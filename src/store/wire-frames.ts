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
    if (this.held === 0) {
      const used = this.parse(chunk);
      if (used < chunk.length) this.hold(chunk.subarray(used));
      return;
    }
    this.hold(chunk);
    if (this.held < this.need) return;
    const joined = Buffer.concat(this.parts, this.held);
    this.parts = [];
    this.held = 0;
    const used = this.parse(joined);
    if (used < joined.length) this.hold(joined.subarray(used));
  }

  private hold(bytes: Buffer): void {
    this.parts.push(bytes);
    this.held += bytes.length;
  }

  private parse(bytes: Buffer): number {
    const length = bytes.length;
    let at = 0;
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
