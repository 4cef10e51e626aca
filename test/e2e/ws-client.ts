import WebSocket from 'ws';

export interface Frame {
  readonly type: string;
  readonly [field: string]: any;
}

export interface EventsClient {
  readonly ws: WebSocket;
  /** Every frame received so far, in arrival order. */
  readonly frames: Frame[];
  /** Resolves with the first frame (already received or later) that matches, or rejects after `ms`. */
  next(match: (frame: Frame) => boolean, ms?: number): Promise<Frame>;
  /** Resolves once `done(frames)` holds. */
  until(done: (frames: Frame[]) => boolean, ms?: number): Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  changes(): Frame[];
  close(): void;
}

/** Opens /events and records every frame; resolves once the socket is open. */
export async function openEvents(baseUrl: string, query = ''): Promise<EventsClient> {
  const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/events${query}`);
  const frames: Frame[] = [];
  const watchers = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)));
    for (const watch of watchers) watch();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const until = (done: (frames: Frame[]) => boolean, ms = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!done(frames)) return;
        watchers.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        watchers.delete(check);
        reject(new Error(`condition not met within ${ms} ms; ${frames.length} frames, last: ${JSON.stringify(frames.at(-1))}`));
      }, ms);
      watchers.add(check);
      check();
    });
  return {
    ws,
    frames,
    closed,
    async next(match, ms) {
      await until((all) => all.some(match), ms);
      return frames.find(match)!;
    },
    until,
    changes: () => frames.filter((f) => f.type === 'value.put' || f.type === 'value.deleted'),
    close: () => ws.close(),
  };
}

/** The upgrade's HTTP answer when the server refuses it. */
export function refusedUpgrade(baseUrl: string, query: string): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/events${query}`);
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(body) }));
    });
  });
}

export function revisions(frames: Frame[]): number[] {
  return frames.map((f) => f.revision as number);
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** Runs `work` for 0..count-1 with at most `width` in flight. */
export async function inParallel(count: number, width: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) await work(next++);
  }));
}
