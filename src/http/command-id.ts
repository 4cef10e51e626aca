import { randomFillSync } from 'node:crypto';

/** Random bytes for this many ids are drawn at once (as node:crypto's randomUUID does). */
const BATCH = 128;
const HEX = Buffer.from('0123456789abcdef');
/** Where each of the 16 bytes' two hex digits go in `xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`. */
const AT = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];

const random = Buffer.alloc(16 * BATCH);
let used = BATCH;
const text = Buffer.from('00000000-0000-4000-8000-000000000000', 'latin1');

/**
 * A random (version 4) UUID, as node:crypto's randomUUID gives, for a write's command id. That one
 * builds its text from 20 string concatenations (about 700 bytes of garbage per id, one id per
 * write); this writes the digits into one buffer and reads the text out once.
 */
export function commandId(): string {
  if (used === BATCH) {
    randomFillSync(random);
    used = 0;
  }
  const from = 16 * used++;
  random[from + 6] = (random[from + 6]! & 0x0f) | 0x40;
  random[from + 8] = (random[from + 8]! & 0x3f) | 0x80;
  for (let i = 0; i < 16; i++) {
    const byte = random[from + i]!;
    text[AT[i]!] = HEX[byte >>> 4]!;
    text[AT[i]! + 1] = HEX[byte & 0x0f]!;
  }
  return text.toString('latin1', 0, 36);
}
