import type { Instance } from '../support/instance.js';
import { Random } from '../support/random.js';

/** One write as the client saw it. `status` 0: no answer (connection lost or hung past the bound). */
export interface WriteRecord {
  readonly key: string;
  /** undefined: a delete. Every put writes a value no other write uses. */
  readonly value: string | undefined;
  readonly start: number;
  readonly end: number;
  readonly status: number;
  readonly revision?: number;
  readonly hung?: boolean;
}

export interface LoadStats {
  writes: WriteRecord[];
  reads: number;
  /** Reads that got neither 200 nor 404 (reads must keep answering from memory through any fault). */
  readFailures: number;
  /** What each failed read got, for the report: the instance's pid and the status or the error. */
  readFailureDetails: string[];
  /** Reads with no answer within the bound: only a frozen (SIGSTOP) instance may cause these. */
  readsHung: number;
}

export interface LoadOptions {
  readonly workers: number;
  readonly keys: number;
  /** A request unanswered after this is a hang: writes must answer 503 instead, never hang. */
  readonly requestTimeoutMs: number;
  readonly seed: number;
}

/**
 * A steady mixed load (puts, deletes, reads over a small keyspace, so writes to a key overlap)
 * against whichever instances are in `targets` at the time of each request.
 */
export class MixedLoad {
  readonly stats: LoadStats = { writes: [], reads: 0, readFailures: 0, readFailureDetails: [], readsHung: 0 };
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly targets: () => Instance[],
    private readonly options: LoadOptions,
  ) {
    this.done = Promise.all(Array.from({ length: options.workers }, (_, i) => this.worker(i))).then(() => {});
  }

  async stop(): Promise<LoadStats> {
    this.running = false;
    await this.done;
    return this.stats;
  }

  private async worker(index: number): Promise<void> {
    const rng = new Random(this.options.seed + index);
    for (let seq = 0; this.running; seq++) {
      const live = this.targets().filter((i) => i.process.exitCode === null && i.process.signalCode === null);
      if (live.length === 0) {
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const target = rng.pick(live);
      const key = `load/${rng.int(0, this.options.keys - 1)}`;
      const roll = rng.next();
      if (roll < 0.3) await this.read(target, key);
      else await this.write(target, key, roll < 0.4 ? undefined : `w${index}-${seq}`);
    }
  }

  private async read(target: Instance, key: string): Promise<void> {
    this.stats.reads++;
    const { status, hung, error } = await this.send(`${target.url}/values/${key}`, { method: 'GET' });
    if (hung) {
      this.stats.readsHung++;
      return;
    }
    if (status === 200 || status === 404) return;
    // A read cut by the death of its instance is the balancer's to retry, not a failure to serve.
    // The connection can be reset before this process has seen the child's exit: wait for it briefly.
    if (status === 0 && (await diesWithin(target, DEATH_NOTICE_MS))) return;
    this.stats.readFailures++;
    this.stats.readFailureDetails.push(`pid ${target.process.pid}: ${status === 0 ? `no answer (${error})` : `status ${status}`}`);
  }

  private async write(target: Instance, key: string, value: string | undefined): Promise<void> {
    const start = performance.now();
    const answer = await this.send(`${target.url}/values/${key}`, value === undefined ? { method: 'DELETE' } : { method: 'PUT', body: value });
    this.stats.writes.push({ key, value, start, end: performance.now(), status: answer.status, revision: answer.revision, hung: answer.hung });
  }

  private async send(url: string, init: RequestInit): Promise<{ status: number; revision?: number; hung?: boolean; error?: string }> {
    try {
      const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.options.requestTimeoutMs) });
      const body = (await response.json().catch(() => ({}))) as { revision?: number };
      return { status: response.status, revision: body.revision };
    } catch (error) {
      const hung = error instanceof Error && error.name === 'TimeoutError';
      if (!hung) await new Promise((r) => setTimeout(r, 20)); // a refused connection: do not spin
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      return { status: 0, hung, error: cause ?? String(error) };
    }
  }
}

/** How long after a lost connection the instance's exit may still be on its way to this process. */
const DEATH_NOTICE_MS = 500;

async function diesWithin(instance: Instance, ms: number): Promise<boolean> {
  const dead = () => instance.process.exitCode !== null || instance.process.signalCode !== null;
  for (const until = Date.now() + ms; !dead() && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
  return dead();
}
