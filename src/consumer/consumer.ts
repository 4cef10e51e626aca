import { inject, injectable } from 'tsyringe';
import type { BatchOptions, CommandBus } from '../bus/command-bus.js';
import type { EventBus } from '../bus/event-bus.js';
import type { Config } from '../config.js';
import { COMMAND_BUS, CONFIG, EVENT_BUS, KEYSPACE, LOGGER, METRICS, STORE } from '../container.js';
import type { Command } from '../domain/commands.js';
import type { Keyspace } from '../domain/keyspace.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';
import { commitBatch } from './commit-batch.js';
import { OwnWrites } from './own-writes.js';

const ATTEMPTS = 5;
const PRUNE_EVERY_MS = 30_000;

/**
 * Takes batches from the command bus, commits each atomically, then announces the result.
 * The bus acknowledges a batch only after this resolves, i.e. after the events were confirmed
 * (DESIGN §4 rule 3): a crash anywhere before that means redelivery, and redelivery is harmless.
 * Announcements go out in commit order: each is published right after its commit and after the
 * batch before it (`previous`) was; the next batch, whose write may already be on its way behind
 * this one's (`sent`), publishes only after this one (`committed`).
 */
@injectable()
export class Consumer {
  /** Zero: the first batch after a start prunes what accumulated while no consumer ran. */
  private lastPrune = 0;
  private pruning = false;
  /** The store's state as of this consumer's last read and writes, with the keyspace's help. */
  private readonly own: OwnWrites;

  constructor(
    @inject(STORE) private readonly store: Store,
    @inject(COMMAND_BUS) private readonly commands: CommandBus,
    @inject(EVENT_BUS) private readonly events: EventBus,
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
    @inject(METRICS) private readonly metrics: Metrics,
    @inject(KEYSPACE) keyspace: Keyspace,
  ) {
    this.own = new OwnWrites(keyspace);
  }

  start(): Promise<void> {
    return this.commands.consume((commands, batch) => this.handle(commands, batch), this.config.consumerPrefetch);
  }

  async handle(commands: readonly Command[], { sent, committed, previous, sentAt }: BatchOptions = {}): Promise<void> {
    if (sentAt !== undefined) this.metrics.commandQueued.observe(Math.max(0, Date.now() - sentAt) / 1000);
    const started = performance.now();
    const reads = this.own.reads;
    const batch = await this.withRetry(() => commitBatch(this.store, commands, new Date(), this.own, { sent, previous }));
    this.metrics.batchCommit.observeSince(started);
    this.metrics.batchReads.inc(this.own.reads - reads);
    // Announced in commit order: the batch before publishes as soon as it is committed.
    await previous;
    committed?.();
    this.metrics.batchSize.observe(commands.length);
    this.metrics.commandsApplied.inc(batch.changes.length);
    await this.events.publish({ kind: 'batch', batch });
    this.maybePrune();
  }

  private async withRetry<T>(attempt: () => Promise<T>): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (error) {
        if (n >= ATTEMPTS) throw error;
        this.log.warn({ err: error, attempt: n }, 'committing a batch failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** n, 2000)));
      }
    }
  }

  private maybePrune(): void {
    if (this.pruning || Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.pruning = true;
    this.store
      .prune(this.config.changelogRetain, this.config.outcomeRetainMs)
      .catch((error: unknown) => this.log.warn({ err: error }, 'pruning the change log failed'))
      .finally(() => {
        this.pruning = false;
        this.lastPrune = Date.now();
      });
  }
}
