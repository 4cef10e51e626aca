import { randomInt } from 'node:crypto';
import type { Command } from '../domain/commands.js';
import { decideBatch, type BatchDecision } from '../domain/decide.js';
import type { CommittedBatch, Outcome } from '../domain/events.js';
import type { Store } from '../store/store.js';
import type { OwnWrites } from './own-writes.js';

/**
 * How a batch's commit is ordered with the one before it, which may still be in flight: `sent` is
 * called once this batch's write is sent (the next batch may be decided on it and sent behind it);
 * `previous` resolves once the batch before was committed or given up.
 */
export interface CommitOrder {
  readonly sent?: () => void;
  readonly previous?: Promise<void>;
}

/** Another writer came in between this many times in a row: give up this attempt (the caller retries later). */
const MAX_RACES = 10;

/**
 * Commits one batch. When the consumer knows the store's state from its own last read and writes
 * (`own`), the batch is decided against it and written in one round trip; otherwise, or when that
 * write is refused, it is read (one snapshot), decided and written. A write goes through only if
 * no other batch was written since what it was decided against (the store checks it under the head
 * row's lock, so a late second consumer cannot fork the sequence; it reads and decides again), and
 * only if none of its commands was decided before: redelivered commands are read, find their stored
 * outcome and are announced again, never applied twice.
 */
export async function commitBatch(store: Store, commands: readonly Command[], at: Date, own?: OwnWrites, order: CommitOrder = {}): Promise<CommittedBatch> {
  const commandIds = unique(commands.map((c) => c.commandId));
  const keys = unique(commands.map((c) => c.key));
  const known = own?.known(keys);
  if (known) {
    const decision = decideBatch({ commands, head: known.head, current: known.current, known: new Map(), at: at.toISOString() });
    if (await write(store, decision, known.mark, own, order.sent)) return committedBatch(decision);
  }
  // What is read must include the batch before: it is committed, or given up, first.
  await order.previous;
  for (let race = 0; race < MAX_RACES; race++) {
    const read = await store.readBatch(commandIds, keys);
    own?.read(read);
    const decision = decideBatch({ commands, head: read.head, current: read.current, known: read.known, at: at.toISOString() });
    // Only replays: everything was decided and stored before, there is nothing to write.
    if (decision.decided.length === 0) return committedBatch(decision);
    if (await write(store, decision, read.mark, own, order.sent)) return committedBatch(decision);
  }
  throw new Error(`another batch was written between this batch's read and its write ${MAX_RACES} times in a row: another consumer is writing`);
}

/**
 * The write is taken as done as soon as it is sent (`onSent` is told), so that the next batch can
 * be decided on it and sent behind it; one that fails or is refused leaves the store's state
 * unknown to `own`, and the next batch, decided on it, is refused by its mark in turn.
 */
async function write(store: Store, decision: BatchDecision, expected: number, own: OwnWrites | undefined, onSent?: () => void): Promise<boolean> {
  let written = false;
  const next = randomInt(1, 2 ** 48);
  const sent = store.writeBatch(decision, { expected, next });
  own?.wrote(decision, next);
  onSent?.();
  try {
    written = await sent;
    return written;
  } finally {
    if (!written) own?.forget();
  }
}

/** A change carries its command's outcome: the batch announces only the outcomes no change carries. */
function committedBatch(decision: BatchDecision): CommittedBatch {
  const carried = new Set<Outcome>();
  for (const outcome of decision.decided) if (outcome.status === 'applied') carried.add(outcome);
  return { changes: decision.changes, outcomes: decision.outcomes.filter((o) => !carried.has(o)), head: decision.head };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
