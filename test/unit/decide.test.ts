import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command, Precondition } from '../../src/domain/commands.js';
import { decideBatch, type BatchInput } from '../../src/domain/decide.js';
import type { Outcome } from '../../src/domain/events.js';

const at = '2026-01-01T00:00:00.000Z';
const put = (commandId: string, key: string, value: string, precondition?: Precondition): Command => ({ type: 'PutValue', commandId, key, value, precondition });
const del = (commandId: string, key: string, precondition?: Precondition): Command => ({ type: 'DeleteValue', commandId, key, precondition });

function decide(commands: Command[], given: Partial<Omit<BatchInput, 'commands' | 'at'>> = {}) {
  return decideBatch({ commands, head: given.head ?? 0, current: given.current ?? new Map(), known: given.known ?? new Map(), at });
}

describe('decideBatch', () => {
  test('applied changes get consecutive revisions after the head', () => {
    const d = decide([put('c1', 'a', '1'), put('c2', 'b', '2'), del('c3', 'a')], { head: 41 });
    assert.deepEqual(d.changes.map((c) => c.revision), [42, 43, 44]);
    assert.deepEqual(d.changes.map((c) => [c.type, c.key, c.commandId]), [['value.put', 'a', 'c1'], ['value.put', 'b', 'c2'], ['value.deleted', 'a', 'c3']]);
    assert.ok(d.changes.every((c) => c.at === at));
    assert.deepEqual(d.outcomes.map((o) => o.status === 'applied' && o.revision), [42, 43, 44]);
    assert.equal(d.head, 44);
    assert.deepEqual(d.finalState, new Map([['a', null], ['b', { value: '2', revision: 43 }]]));
  });

  test('later commands in a batch see the earlier ones', () => {
    const d = decide([put('c1', 'k', 'x', { kind: 'absent' }), put('c2', 'k', 'y', { kind: 'revision', revision: 1 }), del('c3', 'k'), del('c4', 'k')]);
    assert.deepEqual(d.outcomes.map((o) => o.status), ['applied', 'applied', 'applied', 'not_found']);
    assert.equal(d.head, 3);
    assert.deepEqual(d.finalState.get('k'), null);
  });

  test('compare-and-set: a matching revision applies, another fails with the current one and consumes nothing', () => {
    const current = new Map([['k', 5]]);
    const ok = decide([put('c1', 'k', 'new', { kind: 'revision', revision: 5 })], { head: 9, current });
    assert.deepEqual(ok.outcomes, [{ commandId: 'c1', key: 'k', status: 'applied', revision: 10 }]);
    const stale = decide([put('c1', 'k', 'new', { kind: 'revision', revision: 4 })], { head: 9, current });
    assert.deepEqual(stale.outcomes, [{ commandId: 'c1', key: 'k', status: 'precondition_failed', current: 5 }]);
    assert.deepEqual(stale.changes, []);
    assert.equal(stale.head, 9);
    const missing = decide([del('c1', 'nope', { kind: 'revision', revision: 4 })], { head: 9 });
    assert.deepEqual(missing.outcomes, [{ commandId: 'c1', key: 'nope', status: 'precondition_failed', current: null }]);
  });

  test('create-only (If-None-Match: *) and must-exist (If-Match: *)', () => {
    const current = new Map([['there', 3]]);
    const d = decide(
      [put('c1', 'there', 'x', { kind: 'absent' }), put('c2', 'fresh', 'x', { kind: 'absent' }), put('c3', 'there', 'y', { kind: 'exists' }), put('c4', 'ghost', 'y', { kind: 'exists' })],
      { head: 3, current },
    );
    assert.deepEqual(d.outcomes, [
      { commandId: 'c1', key: 'there', status: 'precondition_failed', current: 3 },
      { commandId: 'c2', key: 'fresh', status: 'applied', revision: 4 },
      { commandId: 'c3', key: 'there', status: 'applied', revision: 5 },
      { commandId: 'c4', key: 'ghost', status: 'precondition_failed', current: null },
    ]);
  });

  test('deleting a missing key is not_found and consumes no revision', () => {
    const d = decide([del('c1', 'nope'), put('c2', 'k', 'v')], { head: 7 });
    assert.deepEqual(d.outcomes[0], { commandId: 'c1', key: 'nope', status: 'not_found' });
    assert.deepEqual(d.changes.map((c) => c.revision), [8]);
    assert.equal(d.head, 8);
    assert.equal(d.decided.length, 2, 'a not_found outcome is stored too, so a retry is answered the same');
  });

  test('a redelivered command replays its stored outcome and never consumes a revision', () => {
    const stored: Outcome = { commandId: 'c1', key: 'k', status: 'applied', revision: 3 };
    const current = new Map([['k', 8]]);
    const d = decide([put('c1', 'k', 'first'), put('c2', 'k', 'second')], { head: 8, current, known: new Map([['c1', stored]]) });
    assert.deepEqual(d.outcomes[0], stored);
    assert.deepEqual(d.outcomes[1], { commandId: 'c2', key: 'k', status: 'applied', revision: 9 });
    assert.deepEqual(d.changes.map((c) => c.commandId), ['c2']);
    assert.deepEqual(d.decided.map((o) => o.commandId), ['c2'], 'replayed outcomes are not stored again');
    assert.equal(d.head, 9);
  });

  test('stored failures replay as failures even when the precondition would hold now', () => {
    const stored: Outcome = { commandId: 'c1', key: 'k', status: 'precondition_failed', current: null };
    const d = decide([put('c1', 'k', 'v', { kind: 'absent' })], { head: 2, known: new Map([['c1', stored]]) });
    assert.deepEqual(d.outcomes, [stored]);
    assert.deepEqual(d.changes, []);
    assert.equal(d.head, 2);
  });

  test('the same command id twice in one batch is applied once and answered twice alike', () => {
    const d = decide([put('dup', 'k', 'v'), put('other', 'j', 'w'), put('dup', 'k', 'v'), del('dup', 'k')], { head: 0 });
    assert.deepEqual(d.changes.map((c) => [c.commandId, c.revision]), [['dup', 1], ['other', 2]]);
    assert.deepEqual(d.outcomes[0], d.outcomes[2]);
    assert.deepEqual(d.outcomes[0], d.outcomes[3]);
    assert.deepEqual(d.decided.map((o) => o.commandId), ['dup', 'other']);
    assert.equal(d.head, 2);
    assert.deepEqual(d.finalState.get('k'), { value: 'v', revision: 1 });
  });

  test('an empty batch changes nothing', () => {
    const d = decide([], { head: 5 });
    assert.deepEqual([d.changes, d.outcomes, d.decided, d.head], [[], [], [], 5]);
  });
});
