import { inject, injectable } from 'tsyringe';
import type { CommandBus } from '../bus/command-bus.js';
import type { Config } from '../config.js';
import { COMMAND_BUS, CONFIG, METRICS } from '../container.js';
import type { Command } from '../domain/commands.js';
import { DriftError } from '../domain/errors.js';
import { appliedOutcome, type Change, type Outcome } from '../domain/events.js';
import type { Metrics } from '../metrics.js';
import { Replicator } from '../replication/replicator.js';

export type WriteResult =
  /**
   * `change`: the change that applied the command with this id, which may be another request's
   * under the same Idempotency-Key (compare before answering). `replay`: an applied outcome
   * announced without its change, decided for an earlier request with this id: what it wrote is
   * not known here.
   */
  | { readonly kind: 'outcome'; readonly outcome: Outcome; readonly change?: Change; readonly replay?: true }
  /** Durable (confirmed) but not applied here yet, or the client asked not to wait. */
  | { readonly kind: 'accepted'; readonly commandId: string };

/** Told once how a write ended: its result, or why it could not be made durable. */
export type WriteDone = (result: WriteResult | undefined, error?: Error) => void;

/**
 * One write in flight. It is settled once, by whichever comes first: its outcome, its command's
 * confirm (respond-async), a refused publish, or its deadline. Unsettled writes form a list in
 * deadline order (every write gets the same timeout, so that is the order they were sent in),
 * which one timer walks: no timer or promise race per write.
 */
class PendingWrite {
  confirmed = false;
  settled = false;
  prev: PendingWrite | undefined;
  next: PendingWrite | undefined;
  /** The next write waiting for the same command id (a retry with the same Idempotency-Key). */
  sameId: PendingWrite | undefined;

  constructor(
    readonly commandId: string,
    readonly deadline: number,
    readonly awaitsOutcome: boolean,
    readonly done: WriteDone,
  ) {}
}

/**
 * Sends commands and waits for their outcomes. An outcome is reported only after the replicator
 * has applied the batch that carries it, so a 200 means the change is visible on this instance.
 * An outcome is announced only after its batch was committed: the write is durable then, whatever
 * the broker has yet to say of its message, so a late confirm never holds the answer.
 */
@injectable()
export class Writer {
  /** Writes waiting for an outcome, by command id (a chain through sameId). */
  private readonly waiters = new Map<string, PendingWrite>();
  private first: PendingWrite | undefined;
  private last: PendingWrite | undefined;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = 0;

  constructor(
    @inject(COMMAND_BUS) private readonly bus: CommandBus,
    @inject(CONFIG) private readonly config: Config,
    @inject(Replicator) replicator: Replicator,
    @inject(METRICS) private readonly metrics: Metrics,
  ) {
    replicator.on('changes', (changes) => this.resolveChanges(changes));
    replicator.on('outcomes', (outcomes) => {
      for (const outcome of outcomes) this.resolve(outcome);
    });
  }

  get pending(): number {
    return this.inFlight;
  }

  write(command: Command, respondAsync: boolean): Promise<WriteResult> {
    return new Promise<WriteResult>((resolve, reject) => this.submit(command, respondAsync, (result, error) => (result ? resolve(result) : reject(error))));
  }

  /** `write` without a promise: `done` is called once, on a later turn. */
  submit(command: Command, respondAsync: boolean, done: WriteDone): void {
    const sent = performance.now();
    const write = new PendingWrite(command.commandId, sent + this.config.writeTimeoutMs, !respondAsync, done);
    this.inFlight++;
    this.append(write);
    if (write.awaitsOutcome) {
      write.sameId = this.waiters.get(write.commandId);
      this.waiters.set(write.commandId, write);
    }
    this.bus.send(command).then(
      () => this.confirmed(write, sent),
      () => this.settle(write, undefined, unavailable(write.commandId)),
    );
  }

  private confirmed(write: PendingWrite, sent: number): void {
    // Timed even when the outcome came first: the confirm's delay is what the metric shows.
    this.metrics.commandConfirm.observeSince(sent);
    write.confirmed = true;
    if (!write.awaitsOutcome) this.settle(write, { kind: 'accepted', commandId: write.commandId });
  }

  private resolveChanges(changes: readonly Change[]): void {
    if (this.waiters.size === 0) return;
    for (const c of changes) {
      const waiting = this.waiters.get(c.commandId);
      if (waiting) this.settleAll(waiting, { kind: 'outcome', outcome: appliedOutcome(c), change: c });
    }
  }

  /** An outcome no change carries: a refusal, or (applied) a replay. */
  private resolve(outcome: Outcome): void {
    const waiting = this.waiters.get(outcome.commandId);
    if (waiting) this.settleAll(waiting, outcome.status === 'applied' ? { kind: 'outcome', outcome, replay: true } : { kind: 'outcome', outcome });
  }

  /** Settles every write waiting for the result's command id (`first` heads their chain). */
  private settleAll(first: PendingWrite, result: WriteResult & { kind: 'outcome' }): void {
    this.waiters.delete(result.outcome.commandId);
    for (let write: PendingWrite | undefined = first; write; write = write.sameId) this.settle(write, result);
  }

  /** Past its deadline: durable but not applied yet (202), or not even durable (503). */
  private expire(write: PendingWrite): void {
    if (write.confirmed) this.settle(write, { kind: 'accepted', commandId: write.commandId });
    else this.settle(write, undefined, unavailable(write.commandId));
  }

  private settle(write: PendingWrite, result: WriteResult | undefined, error?: Error): void {
    if (write.settled) return;
    write.settled = true;
    this.inFlight--;
    this.unlink(write);
    if (write.awaitsOutcome) this.stopWaiting(write);
    write.done(result, error);
  }

  private stopWaiting(write: PendingWrite): void {
    const head = this.waiters.get(write.commandId);
    if (!head) return;
    if (head === write) {
      if (write.sameId) this.waiters.set(write.commandId, write.sameId);
      else this.waiters.delete(write.commandId);
      return;
    }
    for (let w = head; w.sameId; w = w.sameId) {
      if (w.sameId === write) {
        w.sameId = write.sameId;
        return;
      }
    }
  }

  private append(write: PendingWrite): void {
    write.prev = this.last;
    if (this.last) this.last.next = write;
    else this.first = write;
    this.last = write;
    this.timer ??= setTimeout(() => this.expireDue(), Math.max(0, write.deadline - performance.now()));
  }

  private unlink(write: PendingWrite): void {
    if (write.prev) write.prev.next = write.next;
    else if (this.first === write) this.first = write.next;
    if (write.next) write.next.prev = write.prev;
    else if (this.last === write) this.last = write.prev;
    write.prev = write.next = undefined;
  }

  private expireDue(): void {
    this.timer = undefined;
    const now = performance.now();
    while (this.first && this.first.deadline <= now) this.expire(this.first);
    if (this.first) this.timer = setTimeout(() => this.expireDue(), Math.max(0, this.first.deadline - now));
  }
}

function unavailable(commandId: string): DriftError {
  return new DriftError('unavailable', 'the write could not be made durable in time; retry it with the same Idempotency-Key', { commandId });
}
