import type { Command } from '../domain/commands.js';
import { decideBatch } from '../domain/decide.js';
import type { CommittedBatch } from '../domain/events.js';
import type { Store } from '../store/store.js';

/**
 * Commits one batch in one transaction: lock the head (writers serialize there, so a late second
 * consumer cannot fork the sequence), read what the batch touches, decide, write. Redelivered
 * commands find their stored outcome and are announced again, never applied twice.
 */
export function commitBatch(store: Store, commands: readonly Command[], at: Date): Promise<CommittedBatch> {
  return store.transaction(async (tx) => {
    // Sent together, run in order: the driver pipelines them on the transaction's connection and
    // the server executes each after the previous one, so the reads (READ COMMITTED: a snapshot
    // per statement) see everything committed before the head lock was granted. One round trip
    // instead of three.
    const [head, known, current] = await Promise.all([
      tx.lockHead(),
      tx.outcomes(unique(commands.map((c) => c.commandId))),
      tx.entries(unique(commands.map((c) => c.key))),
    ]);
    const decision = decideBatch({ commands, head, current, known, at: at.toISOString() });
    await tx.write(decision);
    return { changes: decision.changes, outcomes: decision.outcomes, head: decision.head };
  });
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
