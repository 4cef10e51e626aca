import type { Command, Precondition } from '../../domain/commands.js';

export const COMMANDS_CONTENT_TYPE = 'application/vnd.driftkv.commands+json';

/** Several commands may travel in one message; each keeps its own id and outcome. `sentAt`: epoch ms. */
export function encodeCommands(commands: readonly Command[], sentAt = Date.now()): Buffer {
  return Buffer.from(JSON.stringify({ sentAt, commands }));
}

export class MalformedCommand extends Error {
  readonly code = 'malformed_command';
}

/**
 * Anything the consumer cannot trust is refused here, so that it is dead-lettered instead of
 * redelivered forever. A message without a usable `sentAt` (an older sender) is still accepted.
 */
export function decodeCommands(content: Buffer): { commands: Command[]; sentAt: number | undefined } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content.toString('utf8'));
  } catch {
    throw new MalformedCommand('the message is not JSON');
  }
  const list = (parsed as { commands?: unknown })?.commands;
  if (!Array.isArray(list) || list.length === 0) throw new MalformedCommand('expected {"commands":[...]} with at least one command');
  const sentAt = (parsed as { sentAt?: unknown }).sentAt;
  return { commands: list.map(toCommand), sentAt: Number.isFinite(sentAt) ? (sentAt as number) : undefined };
}

function toCommand(raw: unknown, index: number): Command {
  const c = raw as Record<string, unknown>;
  if (!c || typeof c !== 'object' || !nonEmpty(c.commandId) || !nonEmpty(c.key)) {
    throw new MalformedCommand(`command ${index}: commandId and key must be non-empty strings`);
  }
  const precondition = toPrecondition(c.precondition, index);
  // Built whole, in one shape per type (the encoder leaves out an absent precondition).
  if (c.type === 'PutValue' && typeof c.value === 'string' && !c.value.includes('\u0000')) {
    return precondition
      ? { type: 'PutValue', commandId: c.commandId, key: c.key, value: c.value, precondition }
      : { type: 'PutValue', commandId: c.commandId, key: c.key, value: c.value };
  }
  if (c.type === 'DeleteValue') {
    return precondition ? { type: 'DeleteValue', commandId: c.commandId, key: c.key, precondition } : { type: 'DeleteValue', commandId: c.commandId, key: c.key };
  }
  throw new MalformedCommand(`command ${index}: unknown type or missing value`);
}

function nonEmpty(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function toPrecondition(raw: unknown, index: number): Precondition | undefined {
  if (raw === undefined || raw === null) return undefined;
  const p = raw as Record<string, unknown>;
  if (p.kind === 'exists' || p.kind === 'absent') return { kind: p.kind };
  if (p.kind === 'revision' && Number.isSafeInteger(p.revision)) return { kind: 'revision', revision: p.revision as number };
  throw new MalformedCommand(`command ${index}: malformed precondition`);
}
