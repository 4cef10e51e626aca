/** Keys of the seeded keyspace: 14 bytes each, `bench:00000001` … (bench/wrk/get.lua draws the same). */
export function benchKey(i: number): string {
  return `bench:${String(i).padStart(8, '0')}`;
}
