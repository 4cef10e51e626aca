import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commandId } from '../../src/http/command-id.js';

test('command ids are random version 4 UUIDs, none repeated, across batches of random bytes', () => {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (let i = 0; i < 20_000; i++) {
    const id = commandId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(!seen.has(id), `repeated: ${id}`);
    seen.add(id);
    for (const digit of id.slice(24)) counts.set(digit, (counts.get(digit) ?? 0) + 1);
  }
  // The last 12 digits are uniformly random: each of the 16 appears about 15,000 times.
  assert.equal(counts.size, 16);
  for (const [digit, n] of counts) assert.ok(n > 13_500 && n < 16_500, `${digit}: ${n}`);
});
