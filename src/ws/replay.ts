import type { Store } from '../store/store.js';
import type { ChangeRing } from './change-ring.js';
import type { Session } from './session.js';

const PAGE = 1000;

export type ReplayResult = 'done' | 'reset' | 'abandoned';

/**
 * Sends every change after `since` up to at least `target` (the revision when the socket opened;
 * live changes after it are held by the session meanwhile). Pages come from the ring while it
 * reaches back far enough, else from the change log; between pages the replay waits for the
 * socket to drain, so a long replay costs a bounded buffer, not memory proportional to history.
 */
export async function replay(session: Session, since: number, target: number, ring: ChangeRing, store: Store): Promise<ReplayResult> {
  const token = session.replayToken;
  const abandoned = () => !session.open || session.replayToken !== token;
  let cursor = since;
  while (cursor < target) {
    const page = ring.after(cursor, PAGE) ?? (await store.changesSince(cursor, PAGE));
    if (abandoned()) return 'abandoned';
    // An empty page below target means the history is not where it should be: reload rather than guess.
    if (page === 'compacted' || page.length === 0) return 'reset';
    session.deliver(page);
    cursor = page[page.length - 1]!.revision;
    await session.drained();
    if (abandoned()) return 'abandoned';
  }
  return 'done';
}
