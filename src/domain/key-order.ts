/**
 * Orders keys by their UTF-8 bytes, which is PostgreSQL's COLLATE "C" order and what users of
 * etcd or Consul expect from a prefix listing. JavaScript compares UTF-16 code units, which differs
 * only where a surrogate (a code point above U+FFFF) meets U+E000..U+FFFF: those two are swapped back.
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return byteRank(x) - byteRank(y);
  }
  return a.length - b.length;
}

function byteRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}
