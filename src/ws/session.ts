import type { WebSocket } from 'uWebSockets.js';
import type { Change } from '../domain/events.js';
import type { EventsQuery } from './events-query.js';
import { changeFrame, resetFrame } from './messages.js';
import { weigh } from './change-ring.js';

/** What uWS keeps per socket from upgrade to close. */
export interface SocketData {
  readonly id: string;
  readonly query: EventsQuery;
  session?: Session;
}

export interface SessionLimits {
  /** Live changes held back during a replay, in changes and rough bytes; past either the socket is closed. */
  readonly heldChanges: number;
  readonly heldBytes: number;
  /** A replay waits for the socket to drain below this before reading the next page. */
  readonly replayBackpressure: number;
}

/** uWS send status: over maxBackpressure, the frame was not queued. */
const DROPPED = 2;
/** RFC 6455 1013 "try again later": the client reconnects with since. */
export const CLOSE_TRY_AGAIN = 1013;
export const CLOSE_GOING_AWAY = 1001;

/**
 * One open /events socket. `sent` is the highest revision already delivered or skipped (not
 * matching the prefix): anything at or below it is a duplicate, which is what makes the seam
 * between replay and live exact. A socket that cannot take a frame is closed, never skipped:
 * a skipped frame would be a silent gap.
 */
export class Session {
  sent = 0;
  /** Live changes that arrived while the replay was being read; null once live. */
  private held: Change[] | null = null;
  private heldBytes = 0;
  private closed = false;
  private overflowed = false;
  private drainWaiter: (() => void) | undefined;
  /** Bumped to abandon a replay in progress (a reset superseded it). */
  replayToken = 0;

  constructor(
    private readonly ws: WebSocket<SocketData>,
    readonly id: string,
    readonly prefix: string,
    private readonly limits: SessionLimits,
    private readonly onSlow: (session: Session) => void,
  ) {}

  get open(): boolean {
    return !this.closed;
  }

  get replaying(): boolean {
    return this.held !== null;
  }

  startReplay(since: number): void {
    this.sent = since;
    this.held = [];
    this.heldBytes = 0;
  }

  /** Live changes: delivered now, or held while a replay runs. */
  offer(changes: readonly Change[]): void {
    if (this.closed) return;
    if (this.held === null) {
      this.deliver(changes);
      return;
    }
    for (const change of changes) {
      this.held.push(change);
      this.heldBytes += weigh(change);
    }
    if (this.held.length > this.limits.heldChanges || this.heldBytes > this.limits.heldBytes) {
      this.onSlow(this);
      this.end(CLOSE_TRY_AGAIN, 'too far behind: reconnect with since');
    }
  }

  /** Ends the replay: what was held and is newer than what the replay sent goes out, then live. */
  goLive(): void {
    const held = this.held ?? [];
    this.held = null;
    this.deliver(held);
  }

  /** History is gone or was replaced: the client reloads, and from here on it is live. */
  reset(revision: number): void {
    this.replayToken++;
    this.held = null;
    this.sent = revision;
    this.sendFrames([resetFrame(revision)]);
  }

  deliver(changes: readonly Change[]): void {
    const frames: string[] = [];
    for (const change of changes) {
      if (change.revision <= this.sent) continue;
      this.sent = change.revision;
      if (change.key.startsWith(this.prefix)) frames.push(changeFrame(change));
    }
    this.sendFrames(frames);
  }

  /** Sends in one corked write; a dropped frame closes the socket once the cork is released. */
  sendFrames(frames: readonly string[]): void {
    if (this.closed || frames.length === 0) return;
    this.ws.cork(() => {
      for (const frame of frames) {
        if (this.ws.send(frame) === DROPPED) {
          this.overflowed = true;
          return;
        }
      }
    });
    if (this.overflowed && !this.closed) {
      this.onSlow(this);
      this.end(CLOSE_TRY_AGAIN, 'too slow: reconnect with since');
    }
  }

  /** Resolves once the socket's buffer is below the replay threshold (or the socket is gone). */
  drained(): Promise<void> {
    if (this.closed || this.ws.getBufferedAmount() < this.limits.replayBackpressure) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiter = resolve));
  }

  onDrain(): void {
    if (this.closed || this.ws.getBufferedAmount() >= this.limits.replayBackpressure) return;
    this.wake();
  }

  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.end(code, reason);
  }

  /** From uWS's close handler: the socket object must not be touched after this. */
  onClose(): void {
    this.closed = true;
    this.held = null;
    this.wake();
  }

  private wake(): void {
    const waiter = this.drainWaiter;
    this.drainWaiter = undefined;
    waiter?.();
  }
}
