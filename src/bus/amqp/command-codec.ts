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
  const text = (v: unknown) => typeof v === 'string' && v.length > 0;
  if (!c || typeof c !== 'object' || !text(c.commandId) || !text(c.key)) {
    throw new MalformedCommand(`command ${index}: commandId and key must be non-empty strings`);
  }
  const precondition = toPrecondition(c.precondition, index);
  const base = { commandId: c.commandId as string, key: c.key as string, ...(precondition ? { precondition } : {}) };
  if (c.type === 'PutValue' && typeof c.value === 'string' && !c.value.includes('\u0000')) return { type: 'PutValue', ...base, value: c.value };
  if (c.type === 'DeleteValue') return { type: 'DeleteValue', ...base };
  throw new MalformedCommand(`command ${index}: unknown type or missing value`);
}

function toPrecondition(raw: unknown, index: number): Precondition | undefined {
  if (raw === undefined || raw === null) return undefined;
  const p = raw as Record<string, unknown>;
  if (p.kind === 'exists' || p.kind === 'absent') return { kind: p.kind };
  if (p.kind === 'revision' && Number.isSafeInteger(p.revision)) return { kind: 'revision', revision: p.revision as number };
  throw new MalformedCommand(`command ${index}: malformed precondition`);
}
