/** A seeded generator (mulberry32): a failing fuzz run is replayed by its seed. */
export class Random {
  private state: number;

  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(0, 255);
    return out;
  }

  /** Sizes spread over orders of magnitude: mostly small, sometimes around and past `around`. */
  size(around: number): number {
    const roll = this.next();
    if (roll < 0.6) return this.int(0, 64);
    if (roll < 0.85) return this.int(65, 4096);
    if (roll < 0.95) return this.int(around - 16, around + 16);
    return this.int(4097, around * 2);
  }
}

export function seedFromEnv(name: string): number {
  const raw = process.env[name];
  return raw ? Number(raw) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}
