import type { BatchDecision, StoredEntry } from '../domain/decide.js';
import type { Change, Outcome } from '../domain/events.js';

/** What the consumer may do inside the one transaction that commits a batch. */
export interface BatchTransaction {
  /** Locks the head row (serializing writers, so revisions never fork) and returns the head revision. */
  lockHead(): Promise<number>;
  outcomes(commandIds: readonly string[]): Promise<Map<string, Outcome>>;
  entries(keys: readonly string[]): Promise<Map<string, StoredEntry>>;
  write(decision: BatchDecision): Promise<void>;
}

export interface Store {
  migrate(): Promise<void>;
  transaction<T>(work: (tx: BatchTransaction) => Promise<T>): Promise<T>;
  /**
   * Streams every entry of one consistent snapshot, as its answer (answerOf) in UTF-8 bytes that
   * are valid only during the call, and returns the head revision it was taken at.
   */
  loadSnapshot(onEntry: (key: string, answer: Uint8Array) => void): Promise<number>;
  /** Changes after `revision`, oldest first, at most `limit`; 'compacted' when the log no longer reaches back that far. */
  changesSince(revision: number, limit: number): Promise<Change[] | 'compacted'>;
  head(): Promise<number>;
  outcome(commandId: string): Promise<Outcome | undefined>;
  /** Drops change-log entries beyond the newest `retainChanges` and outcomes older than `retainOutcomesMs`. */
  prune(retainChanges: number, retainOutcomesMs: number): Promise<void>;
  /** Replaces every pooled connection: after a driver fault one of them may be unusable. */
  resetConnections(): void;
  close(): Promise<void>;
}
