import { EventEmitter } from 'eventemitter3';
import { inject, injectable } from 'tsyringe';
import type { BusMessage, EventBus } from '../bus/event-bus.js';
import type { Config } from '../config.js';
import { CONFIG, EVENT_BUS, KEYSPACE, LOGGER, METRICS, STORE } from '../container.js';
import type { Change, CommittedBatch, ConnectionEvent, Outcome } from '../domain/events.js';
import { Keyspace } from '../domain/keyspace.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/store.js';

const CATCH_UP_PAGE = 5000;

export interface ReplicatorEvents {
  /** Changes just applied to the keyspace, in revision order. */
  changes: [readonly Change[]];
  /** Outcomes of a committed batch, announced after its changes are visible here. */
  outcomes: [readonly Outcome[]];
  /** The keyspace was reloaded from a snapshot at this revision (history before it is gone). */
  reset: [number];
  connection: [ConnectionEvent];
}

/**
 * Keeps this instance's keyspace equal to the store, following DESIGN §4: bind first, then the
 * snapshot, then the buffered events above its head; gaps filled from the change log; a compacted
 * log answered with a reload; a periodic head check for whatever the broker lost. All work runs
 * one task at a time on one queue, so the keyspace never sees two writers.
 */
@injectable()
export class Replicator extends EventEmitter<ReplicatorEvents> {
  private tail: Promise<void> = Promise.resolve();
  private buffer: CommittedBatch[] | null = [];
  private loaded = false;
  private knownHead = 0;
  private timer: NodeJS.Timeout | undefined;
  private binding: Promise<void> | undefined;

  constructor(
    @inject(KEYSPACE) private readonly keyspace: Keyspace,
    @inject(STORE) private readonly store: Store,
    @inject(EVENT_BUS) private readonly events: EventBus,
    @inject(CONFIG) private readonly config: Config,
    @inject(LOGGER) private readonly log: Logger,
    @inject(METRICS) private readonly metrics: Metrics,
  ) {
    super();
  }

  get ready(): boolean {
    return this.loaded && this.keyspace.revision >= this.knownHead && this.events.connected;
  }

  get lag(): number {
    return Math.max(0, this.knownHead - this.keyspace.revision);
  }

  /**
   * Binds this instance's event queue; events are buffered until `start` has loaded the snapshot.
   * Called before the schema migration, it lets the broker's connection come up while the store
   * is being read, instead of before.
   */
  bind(): Promise<void> {
    if (!this.binding) {
      this.binding = this.events.subscribe(
        (message) => this.receive(message),
        () => {
          this.metrics.reconnects.inc();
          this.schedule(() => this.catchUp());
        },
      );
      // Observed by start; a failure before then must not count as unhandled.
      this.binding.catch(() => {});
    }
    return this.binding;
  }

  /**
   * DESIGN §4 rule 5, with the binding and the snapshot overlapped: whatever was committed after
   * the snapshot's head but before the queue was bound reached no buffer, so the change log is
   * read from that head once both are done; buffered events above it follow (duplicates ignored).
   */
  async start(): Promise<void> {
    const bound = this.bind();
    await this.reload();
    await bound;
    this.schedule(() => this.catchUp());
    const buffered = this.buffer ?? [];
    this.buffer = null;
    for (const batch of buffered) this.schedule(() => this.applyBatch(batch));
    await this.tail;
    this.loaded = true;
    this.timer = setInterval(() => this.schedule(() => this.checkHead()), this.config.resyncIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.tail;
  }

  /** Resolves once everything received so far has been applied. */
  settled(): Promise<void> {
    return this.tail;
  }

  private receive(message: BusMessage): void {
    if (message.kind === 'connection') {
      this.emit('connection', message.event);
      return;
    }
    this.metrics.eventsReceived.inc();
    if (this.buffer) this.buffer.push(message.batch);
    else this.schedule(() => this.applyBatch(message.batch));
  }

  private schedule(task: () => Promise<void>): void {
    this.tail = this.tail.then(task).catch((error: unknown) => {
      this.log.error({ err: error }, 'replication task failed; the periodic head check will retry');
    });
  }

  private async applyBatch(batch: CommittedBatch): Promise<void> {
    this.knownHead = Math.max(this.knownHead, batch.head);
    // Timed only when this event made changes visible: a duplicate (already caught up) shows nothing.
    const [first] = this.applyChanges(batch.changes);
    const decided = first && Date.parse(first.at);
    if (decided) this.metrics.changeVisible.observe(Math.max(0, Date.now() - decided) / 1000);
    if (this.keyspace.revision < batch.head) await this.catchUp();
    this.emit('outcomes', batch.outcomes);
  }

  /** Applies in order up to the first gap (what follows a gap comes back through catchUp); returns what it applied. */
  private applyChanges(changes: readonly Change[]): Change[] {
    const applied: Change[] = [];
    for (const change of changes) {
      const result = this.keyspace.apply(change);
      if (result === 'applied') applied.push(change);
      else if (result === 'gap') break;
    }
    if (applied.length > 0) this.emit('changes', applied);
    return applied;
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const from = this.keyspace.revision;
      const changes = await this.store.changesSince(from, CATCH_UP_PAGE);
      if (changes === 'compacted') {
        this.log.warn({ from }, 'change log compacted past this instance: reloading the snapshot');
        await this.reload();
        continue;
      }
      this.applyChanges(changes);
      if (changes.length < CATCH_UP_PAGE || this.keyspace.revision === from) break;
    }
    this.knownHead = Math.max(this.knownHead, this.keyspace.revision);
  }

  private async checkHead(): Promise<void> {
    const head = await this.store.head();
    this.knownHead = Math.max(this.knownHead, head);
    if (head > this.keyspace.revision) {
      this.log.info({ head, applied: this.keyspace.revision }, 'behind the store: catching up');
      await this.catchUp();
    }
  }

  private async reload(): Promise<void> {
    const fresh = new Keyspace();
    const head = await this.store.loadSnapshot(fresh);
    fresh.loaded(head);
    const wasLoaded = this.loaded || this.keyspace.revision > 0;
    this.keyspace.adopt(fresh);
    this.knownHead = Math.max(this.knownHead, head);
    this.log.info({ head, keys: fresh.size }, 'snapshot loaded');
    if (wasLoaded) this.emit('reset', head);
  }
}
