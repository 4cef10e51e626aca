import type { Command } from '../domain/commands.js';
import { decideBatch } from '../domain/decide.js';
import type { CommittedBatch } from '../domain/events.js';
import type { Store } from '../store/store.js';

/** Another writer came in between this many times in a row: give up this attempt (the caller retries later). */
const MAX_RACES = 10;

/**
 * Commits one batch: read what it touches (one snapshot), decide, write only if no other batch was
 * written since the read (the store checks it under the head row's lock, so a late second consumer
 * cannot fork the sequence; it reads and decides again). Redelivered commands find their stored
 * outcome and are announced again, never applied twice.
 */
export async function commitBatch(store: Store, commands: readonly Command[], at: Date): Promise<CommittedBatch> {
  const commandIds = unique(commands.map((c) => c.commandId));
  const keys = unique(commands.map((c) => c.key));
  for (let race = 0; race < MAX_RACES; race++) {
    const read = await store.readBatch(commandIds, keys);
    const decision = decideBatch({ commands, head: read.head, current: read.current, known: read.known, at: at.toISOString() });
    // Only replays: everything was decided and stored before, there is nothing to write.
    const committed = decision.decided.length === 0 || (await store.writeBatch(decision, read));
    if (committed) return { changes: decision.changes, outcomes: decision.outcomes, head: decision.head };
  }
  throw new Error(`another batch was written between this batch's read and its write ${MAX_RACES} times in a row: another consumer is writing`);
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
