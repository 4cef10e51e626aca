import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeCommands, encodeCommands, MalformedCommand } from '../../src/bus/amqp/command-codec.js';
import type { Command } from '../../src/domain/commands.js';

const commands: Command[] = [
  { type: 'PutValue', commandId: 'c1', key: 'k', value: 'v' },
  { type: 'PutValue', commandId: 'c2', key: 'a/b', value: '', precondition: { kind: 'revision', revision: 7 } },
  { type: 'DeleteValue', commandId: 'c3', key: 'k' },
  { type: 'DeleteValue', commandId: 'c4', key: 'é', precondition: { kind: 'exists' } },
  { type: 'PutValue', commandId: 'c5', key: 'new', value: '"\\\\', precondition: { kind: 'absent' } },
];

describe('command codec', () => {
  test('commands come back as they were sent, each with its own id, with the time they were sent', () => {
    const decoded = decodeCommands(encodeCommands(commands, 1234));
    assert.deepEqual(decoded, { commands, sentAt: 1234 });
  });

  test('anything the consumer cannot trust is refused, to be dead-lettered', () => {
    const refused = (content: unknown) =>
      assert.throws(() => decodeCommands(Buffer.from(typeof content === 'string' ? content : JSON.stringify(content))), MalformedCommand, JSON.stringify(content));
    refused('not json');
    refused({ commands: [] });
    refused({ commands: 'x' });
    refused({ commands: [{ type: 'PutValue', commandId: '', key: 'k', value: 'v' }] });
    refused({ commands: [{ type: 'PutValue', commandId: 'c', key: 'k' }] });
    refused({ commands: [{ type: 'PutValue', commandId: 'c', key: 'k', value: 'a\u0000b' }] });
    refused({ commands: [{ type: 'Upsert', commandId: 'c', key: 'k', value: 'v' }] });
    refused({ commands: [{ type: 'DeleteValue', commandId: 'c', key: 'k', precondition: { kind: 'revision', revision: 1.5 } }] });
    refused({ commands: [{ type: 'DeleteValue', commandId: 'c', key: 'k', precondition: { kind: 'maybe' } }] });
  });

  test('a message without a usable sentAt (an older sender) is still taken', () => {
    assert.deepEqual(decodeCommands(Buffer.from(JSON.stringify({ commands: [commands[0]] }))), { commands: [commands[0]], sentAt: undefined });
  });
});
