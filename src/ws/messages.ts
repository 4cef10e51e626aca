import type { Change, ConnectionEvent } from '../domain/events.js';

/** The frames of DESIGN §6, one JSON object per frame. */
const serialized = new WeakMap<Change, string>();

/** Serialized once per change, whatever the number of sockets; fields picked so nothing extra leaks out. */
export function changeFrame(change: Change): string {
  let frame = serialized.get(change);
  if (frame === undefined) {
    const { key, revision, commandId, at } = change;
    frame =
      change.type === 'value.put'
        ? JSON.stringify({ type: 'value.put', key, value: change.value, revision, commandId, at })
        : JSON.stringify({ type: 'value.deleted', key, revision, commandId, at });
    serialized.set(change, frame);
  }
  return frame;
}

export function helloFrame(instance: string, revision: number, connection: string): string {
  return JSON.stringify({ type: 'hello', instance, revision, connection });
}

export function connectionFrame(event: ConnectionEvent): string {
  const { type, connection, instance, at } = event;
  return JSON.stringify({ type, connection, instance, at });
}

export function resetFrame(revision: number): string {
  return JSON.stringify({ type: 'reset', revision });
}
