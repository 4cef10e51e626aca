import type { Command, Precondition } from './commands.js';
import type { Change, Outcome } from './events.js';

export interface StoredEntry {
  readonly value: string;
  readonly revision: number;
}

/** Everything the consumer read, in one snapshot, before deciding a batch. */
export interface BatchInput {
  readonly commands: readonly Command[];
  readonly head: number;
  /** The stored revision of each key the batch touches, before it; a missing key is absent. */
  readonly current: ReadonlyMap<string, number>;
  /** Outcomes of command ids processed before (redeliveries, retried Idempotency-Keys). */
  readonly known: ReadonlyMap<string, Outcome>;
  readonly at: string;
}

export interface BatchDecision {
  readonly changes: Change[];
  /** One per command, in command order: what each sender is told. */
  readonly outcomes: Outcome[];
  /** The outcomes this batch decided (not the replayed ones): to be stored. */
  readonly decided: Outcome[];
  /** Final state of every key the batch wrote: a value, or null for deleted. */
  readonly finalState: Map<string, StoredEntry | null>;
  readonly head: number;
  /** When the batch was decided: the `at` of each of its changes. */
  readonly at: string;
}

/**
 * Decides a batch of commands in order against the state read for it.
 * Pure: the revision sequence, compare-and-set and idempotency rules live here and nowhere else.
 */
export function decideBatch(input: BatchInput): BatchDecision {
  const state = new Map<string, StoredEntry | null>();
  const known = new Map(input.known);
  const decision: BatchDecision = { changes: [], outcomes: [], decided: [], finalState: state, head: input.head, at: input.at };
  let head = input.head;
  for (const command of input.commands) {
    const replay = known.get(command.commandId);
    if (replay) {
      decision.outcomes.push(replay);
      continue;
    }
    const stored = state.has(command.key) ? state.get(command.key)?.revision : input.current.get(command.key);
    const outcome = decideOne(command, stored, head + 1, input.at, decision.changes);
    if (outcome.status === 'applied') {
      head = outcome.revision;
      state.set(command.key, command.type === 'PutValue' ? { value: command.value, revision: head } : null);
    }
    known.set(command.commandId, outcome);
    decision.outcomes.push(outcome);
    decision.decided.push(outcome);
  }
  return { ...decision, head };
}

/** `stored`: the key's revision before this command, undefined when it has no value. */
function decideOne(command: Command, stored: number | undefined, revision: number, at: string, changes: Change[]): Outcome {
  const { commandId, key } = command;
  if (command.precondition && !holds(command.precondition, stored)) {
    return { commandId, key, status: 'precondition_failed', current: stored ?? null };
  }
  switch (command.type) {
    case 'PutValue':
      changes.push({ type: 'value.put', key, value: command.value, revision, commandId, at });
      return { commandId, key, status: 'applied', revision };
    case 'DeleteValue':
      if (stored === undefined) return { commandId, key, status: 'not_found' };
      changes.push({ type: 'value.deleted', key, revision, commandId, at });
      return { commandId, key, status: 'applied', revision };
    default: {
      const unreachable: never = command;
      throw new Error(`unknown command ${JSON.stringify(unreachable)}`);
    }
  }
}

export function holds(precondition: Precondition, stored: number | undefined): boolean {
  switch (precondition.kind) {
    case 'revision':
      return stored === precondition.revision;
    case 'exists':
      return stored !== undefined;
    case 'absent':
      return stored === undefined;
    default: {
      const unreachable: never = precondition;
      throw new Error(`unknown precondition ${JSON.stringify(unreachable)}`);
    }
  }
}
