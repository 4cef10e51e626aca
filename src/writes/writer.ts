import { inject, injectable } from 'tsyringe';
import type { CommandBus } from '../bus/command-bus.js';
import type { Config } from '../config.js';
import { COMMAND_BUS, CONFIG, METRICS } from '../container.js';
import type { Command } from '../domain/commands.js';
import { DriftError } from '../domain/errors.js';
import type { Change, Outcome } from '../domain/events.js';
import type { Metrics } from '../metrics.js';
import { Replicator } from '../replication/replicator.js';

export type WriteResult =
  | { readonly kind: 'outcome'; readonly outcome: Outcome }
  /** Durable (confirmed) but not applied here yet, or the client asked not to wait. */
  | { readonly kind: 'accepted'; readonly commandId: string };

type Waiter = (outcome: Outcome) => void;

/**
 * Sends commands and waits for their outcomes. An outcome is reported only after the replicator
 * has applied the batch that carries it, so a 200 means the change is visible on this instance.
 */
@injectable()
export class Writer {
  private readonly waiters = new Map<string, Waiter[]>();
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

  async write(command: Command, respondAsync: boolean): Promise<WriteResult> {
    this.inFlight++;
    const deadline = Date.now() + this.config.writeTimeoutMs;
    const outcome = respondAsync ? undefined : this.waitFor(command.commandId);
    try {
      const stopTimer = this.metrics.commandConfirm.startTimer();
      const confirmed = within(this.bus.send(command).then(() => true), this.config.writeTimeoutMs)
        .catch(() => false)
        .then((ok) => {
          if (ok) stopTimer();
          return ok;
        });
      // An outcome is announced only after its batch was committed: the write is durable then,
      // whatever the broker has yet to say of the message. A late confirm must not hold the answer.
      const first = outcome ? await Promise.race([confirmed, outcome.promise]) : await confirmed;
      if (typeof first === 'object') return { kind: 'outcome', outcome: first };
      if (!first) {
        throw new DriftError('unavailable', 'the write could not be made durable in time; retry it with the same Idempotency-Key', {
          commandId: command.commandId,
        });
      }
      if (!outcome) return { kind: 'accepted', commandId: command.commandId };
      const settled = await within(outcome.promise, deadline - Date.now());
      return settled ? { kind: 'outcome', outcome: settled } : { kind: 'accepted', commandId: command.commandId };
    } finally {
      outcome?.cancel();
      this.inFlight--;
    }
  }

  private waitFor(commandId: string): { promise: Promise<Outcome>; cancel: () => void } {
    let waiter!: Waiter;
    const promise = new Promise<Outcome>((resolve) => (waiter = resolve));
    const list = this.waiters.get(commandId) ?? [];
    list.push(waiter);
    this.waiters.set(commandId, list);
    const cancel = () => {
      const rest = (this.waiters.get(commandId) ?? []).filter((w) => w !== waiter);
      if (rest.length > 0) this.waiters.set(commandId, rest);
      else this.waiters.delete(commandId);
    };
    return { promise, cancel };
  }

  private resolveChanges(changes: readonly Change[]): void {
    if (this.waiters.size === 0) return;
    for (const c of changes) this.resolve({ commandId: c.commandId, key: c.key, status: 'applied', revision: c.revision });
  }

  private resolve(outcome: Outcome): void {
    const list = this.waiters.get(outcome.commandId);
    if (!list) return;
    this.waiters.delete(outcome.commandId);
    for (const waiter of list) waiter(outcome);
  }
}

/** The promise's value, or false when it does not settle within `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
