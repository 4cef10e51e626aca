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

/** Where a snapshot goes (the keyspace being loaded). */
export interface SnapshotSink {
  /** About how many entries follow (the planner's estimate: a hint, not a promise). */
  expect(entries: number): void;
  /**
   * One entry: the UTF-8 bytes of its key and of its answer (answerOf), as ranges of `bytes`,
   * which is valid only during the call.
   */
  entry(bytes: Uint8Array, keyStart: number, keyEnd: number, answerStart: number, answerEnd: number): void;
}

export interface Store {
  migrate(): Promise<void>;
  transaction<T>(work: (tx: BatchTransaction) => Promise<T>): Promise<T>;
  /**
   * Streams every entry of one consistent snapshot into `sink`, in key byte order, and returns the
   * head revision it was taken at.
   */
  loadSnapshot(sink: SnapshotSink): Promise<number>;
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
