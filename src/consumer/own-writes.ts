import type { BatchDecision } from '../domain/decide.js';

/** The instance's keyspace as the consumer sees it: the revision it has applied, and each key's revision in it. */
export interface AppliedKeys {
  readonly revision: number;
  revisionOf(key: string): number | undefined;
}

/** The store's state a batch can be decided against without reading it. */
export interface KnownState {
  readonly head: number;
  /** The store's mark this state is as of: the write is checked against it. */
  readonly mark: number;
  readonly current: Map<string, number>;
}

/** Beyond this many keys written but not yet seen in the keyspace, read instead (the keyspace is not keeping up). */
const MAX_PENDING_KEYS = 10_000;

/**
 * What the consumer knows of the store between batches, so that a batch usually needs no read:
 * the head and the store's mark as of its last read or write, and every key it wrote since then that
 * the instance's keyspace has not applied yet. A key's current revision is the pending one, else
 * the keyspace's; that is the store's as long as the keyspace has applied everything up to the
 * last read (`since`) and every batch after it was this consumer's. The write that follows is
 * checked against the mark, so when another consumer wrote in between, it is refused and
 * the batch is read and decided again: knowing wrong costs a round trip, never a wrong decision.
 */
export class OwnWrites {
  private chain: { head: number; mark: number; since: number } | undefined;
  /** Keys written since the last read: their revision (undefined: deleted) and the batch head that wrote them. */
  private readonly pending = new Map<string, { revision: number | undefined; head: number }>();

  /** Reads of the store so far (every other batch was decided from what was known). */
  reads = 0;

  constructor(private readonly keyspace: AppliedKeys) {}

  /** The state to decide a batch of these keys against, or undefined when it must be read. */
  known(keys: readonly string[]): KnownState | undefined {
    const chain = this.chain;
    const applied = this.keyspace.revision;
    if (!chain || applied < chain.since) return undefined;
    for (const [key, own] of this.pending) if (own.head <= applied) this.pending.delete(key);
    const current = new Map<string, number>();
    for (const key of keys) {
      const own = this.pending.get(key);
      const revision = own ? own.revision : this.keyspace.revisionOf(key);
      if (revision !== undefined) current.set(key, revision);
    }
    return { head: chain.head, mark: chain.mark, current };
  }

  /** A read of the store: what it saw is known, and nothing written before it is pending. */
  read(state: { head: number; mark: number }): void {
    this.reads += 1;
    this.chain = { head: state.head, mark: state.mark, since: state.head };
    this.pending.clear();
  }

  /** A batch was written (or sent), checked against the known mark, leaving `mark`. */
  wrote(decision: BatchDecision, mark: number): void {
    const chain = this.chain;
    if (!chain) return;
    chain.mark = mark;
    chain.head = decision.head;
    for (const [key, entry] of decision.finalState) this.pending.set(key, { revision: entry?.revision, head: decision.head });
    if (this.pending.size > MAX_PENDING_KEYS) this.forget();
  }

  /** A write was refused, or its fate is unknown: the next batch is read. */
  forget(): void {
    this.chain = undefined;
    this.pending.clear();
  }
}
