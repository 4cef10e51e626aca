import type { BatchDecision } from '../domain/decide.js';
import type { Change, Outcome } from '../domain/events.js';

/** What a batch is decided against, read in one snapshot. */
export interface BatchState {
  readonly head: number;
  /**
   * The mark the last batch written left on the head: writeBatch's check that none was written
   * since. Every write leaves a mark of its writer's choosing (random), so no other writer can
   * leave the one a batch was decided against.
   */
  readonly mark: number;
  /** The stored revision of each of the keys asked for that has a value. */
  readonly current: Map<string, number>;
  /** Stored outcomes of the command ids asked for (processed before). */
  readonly known: Map<string, Outcome>;
}

/** What a batch write expects to find on the head, and what it leaves there. */
export interface WriteMark {
  readonly expected: number;
  readonly next: number;
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
  /** One consistent read of what a batch of these commands and keys needs to be decided. */
  readBatch(commandIds: readonly string[], keys: readonly string[]): Promise<BatchState>;
  /**
   * Commits a decision, atomically, only if the head still has the mark `mark.expected` (the one
   * it was decided against) and none of its outcomes is stored yet, and leaves `mark.next` there:
   * false when another writer came in between or a command was decided before (nothing is
   * written; read and decide again). The check takes the head row's lock, so writers are
   * serialized and revisions never fork. Writes reach the server in the order they are called.
   */
  writeBatch(decision: BatchDecision, mark: WriteMark): Promise<boolean>;
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
