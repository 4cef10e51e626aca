import 'reflect-metadata';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, test } from 'node:test';
import type { CommandBus } from '../../src/bus/command-bus.js';
import type { Config } from '../../src/config.js';
import type { Command } from '../../src/domain/commands.js';
import { DriftError } from '../../src/domain/errors.js';
import type { Change, Outcome } from '../../src/domain/events.js';
import { createMetrics } from '../../src/metrics.js';
import type { Replicator } from '../../src/replication/replicator.js';
import { Writer } from '../../src/writes/writer.js';

/** A command bus whose confirms the test gives (or withholds) by hand. */
function manualBus() {
  const confirms: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const bus = {
    connected: true,
    send: () => new Promise<void>((resolve, reject) => confirms.push({ resolve, reject })),
    consume: async () => {},
    close: async () => {},
  } satisfies CommandBus;
  return { bus, confirms };
}

function writerWith(bus: CommandBus, writeTimeoutMs: number) {
  const replicator = new EventEmitter();
  const metrics = createMetrics({ revision: () => 0, keys: () => 0, lag: () => 0, arena: () => ({ bytes: 0, live: 0 }) });
  const writer = new Writer(bus, { writeTimeoutMs } as Config, replicator as unknown as Replicator, metrics);
  const announce = (outcome: Outcome) => replicator.emit('outcomes', [outcome]);
  /** A fresh write's outcome travels as its change. */
  const applyChange = (change: Change) => replicator.emit('changes', [change]);
  const confirmsTimed = async () => (await metrics.commandConfirm.get()).values.find((v) => v.metricName === 'driftkv_command_confirm_seconds_count')?.value ?? 0;
  return { writer, announce, applyChange, confirmsTimed };
}

const command: Command = { type: 'PutValue', commandId: 'c1', key: 'k', value: 'v' };
const applied: Outcome = { commandId: 'c1', key: 'k', status: 'applied', revision: 7 };
const change: Change = { type: 'value.put', key: 'k', value: 'v', revision: 7, commandId: 'c1', at: '2026-12-05T00:00:00.000Z' };

describe('Writer', () => {
  test('answers with the outcome once its batch is committed, even while the broker has not confirmed the command yet', async () => {
    const { bus, confirms } = manualBus();
    const { writer, applyChange, confirmsTimed } = writerWith(bus, 10_000);
    const started = Date.now();
    const result = writer.write(command, false);
    await new Promise((r) => setImmediate(r));
    applyChange(change);
    assert.deepEqual(await result, { kind: 'outcome', outcome: applied, change });
    assert.ok(Date.now() - started < 5_000, 'the answer did not wait for the confirm');
    assert.equal(writer.pending, 0);
    // The late confirm is still timed when it comes.
    assert.equal(await confirmsTimed(), 0);
    confirms[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    assert.equal(await confirmsTimed(), 1);
  });

  test('a confirmed command waits for its outcome', async () => {
    const { bus, confirms } = manualBus();
    const { writer, applyChange } = writerWith(bus, 10_000);
    const result = writer.write(command, false);
    confirms[0]!.resolve();
    await new Promise((r) => setTimeout(r, 20));
    let settled = false;
    void result.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(settled, false, 'no answer before the outcome');
    applyChange(change);
    assert.deepEqual(await result, { kind: 'outcome', outcome: applied, change });
  });

  test('an applied outcome announced without its change is a replay (decided for an earlier request with this id); a refusal is not', async () => {
    const { bus } = manualBus();
    const { writer, announce } = writerWith(bus, 10_000);
    const replayed = writer.write(command, false);
    announce(applied);
    assert.deepEqual(await replayed, { kind: 'outcome', outcome: applied, replay: true });
    const refused: Outcome = { commandId: 'c2', key: 'k', status: 'precondition_failed', current: 3 };
    const refusal = writer.write({ ...command, commandId: 'c2' }, false);
    announce(refused);
    assert.deepEqual(await refusal, { kind: 'outcome', outcome: refused });
  });

  test('neither confirmed nor applied within the timeout: unavailable, never a silent success', async () => {
    const { bus } = manualBus();
    const { writer, confirmsTimed } = writerWith(bus, 50);
    await assert.rejects(writer.write(command, false), (error: unknown) => error instanceof DriftError && error.code === 'unavailable');
    assert.equal(await confirmsTimed(), 0);
  });

  test('a refused publish is unavailable at once', async () => {
    const { bus, confirms } = manualBus();
    const { writer } = writerWith(bus, 10_000);
    const result = writer.write(command, false);
    confirms[0]!.reject(new Error('channel closed'));
    await assert.rejects(result, (error: unknown) => error instanceof DriftError && error.code === 'unavailable');
  });

  test('respond-async: accepted once confirmed, without waiting for an outcome', async () => {
    const { bus, confirms } = manualBus();
    const { writer } = writerWith(bus, 10_000);
    const result = writer.write(command, true);
    confirms[0]!.resolve();
    assert.deepEqual(await result, { kind: 'accepted', commandId: 'c1' });
  });
});
