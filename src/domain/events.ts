/** A change that was committed: it owns exactly one revision of the global sequence. */
export interface ValueHasBeenPut {
  readonly type: 'value.put';
  readonly key: string;
  readonly value: string;
  readonly revision: number;
  readonly commandId: string;
  readonly at: string;
}

export interface ValueHasBeenDeleted {
  readonly type: 'value.deleted';
  readonly key: string;
  readonly revision: number;
  readonly commandId: string;
  readonly at: string;
}

export type Change = ValueHasBeenPut | ValueHasBeenDeleted;

/** How a command ended. Stored with the change so that a redelivered command is answered, not reapplied. */
export type Outcome =
  | {
      readonly commandId: string;
      readonly key: string;
      readonly status: 'applied';
      readonly revision: number;
      /**
       * Read back from the store for a replay (a command id decided before): what its change
       * wrote, the value or null for a delete; absent when the change log no longer holds it. The
       * request that reuses the id is answered with this outcome only if it asked for the same.
       */
      readonly wrote?: string | null;
    }
  | { readonly commandId: string; readonly key: string; readonly status: 'not_found' }
  | {
      readonly commandId: string;
      readonly key: string;
      readonly status: 'precondition_failed';
      /** The key's revision when the command was decided; null when the key did not exist. */
      readonly current: number | null;
    };

/** What the consumer announces after one committed batch. */
export interface CommittedBatch {
  readonly changes: readonly Change[];
  /**
   * The outcomes none of its changes carries (each change is its command's outcome, applied at
   * its revision): commands refused by a precondition or with nothing to delete, and replays of
   * commands decided before.
   */
  readonly outcomes: readonly Outcome[];
  /** The head revision right after this batch committed. */
  readonly head: number;
}

/** The outcome a change carries: its command applied at its revision. */
export function appliedOutcome(change: Change): Outcome {
  return { commandId: change.commandId, key: change.key, status: 'applied', revision: change.revision };
}

/** Every outcome a batch announces, in command id order: those its changes carry, and the others. */
export function outcomesOf(batch: CommittedBatch): Outcome[] {
  return [...batch.changes.map(appliedOutcome), ...batch.outcomes].sort((a, b) => (a.commandId < b.commandId ? -1 : a.commandId > b.commandId ? 1 : 0));
}

/** Not revisioned: a websocket opened or closed somewhere in the cluster. */
export interface ConnectionEvent {
  readonly type: 'connection.opened' | 'connection.closed';
  readonly connection: string;
  readonly instance: string;
  readonly at: string;
}
