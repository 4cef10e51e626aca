import type { Entry } from '../integration/cluster.js';
import type { WriteRecord } from './load.js';

export interface Verdict {
  readonly operations: number;
  readonly acknowledged: number;
  /** Keys whose final state no admissible write explains: an acknowledged write was lost (or a value appeared from nowhere). */
  readonly lost: string[];
  /** Revisions taken twice: in the change log, or by two acknowledged writes. */
  readonly duplicated: number;
  readonly problems: string[];
}

const ACKNOWLEDGED = new Set([200, 202]);
/** Answers that leave the outcome open: no answer, 503 (a timed-out publish is not cancelled), 202 too. */
const OPEN = new Set([0, 202, 503]);

/**
 * For each key, the final state must come from a write that an acknowledged write did not
 * strictly follow: the last acknowledged write, one concurrent with it, or one whose outcome the
 * client never learnt (no answer, 503) that was not strictly followed either. A key never
 * acknowledged may hold any such write's value, or nothing.
 */
export function checkHistory(writes: WriteRecord[], final: Map<string, Entry>, changeLog: { revision: number; commandId: string }[]): Verdict {
  const problems: string[] = [];
  const lost: string[] = [];
  const byKey = new Map<string, WriteRecord[]>();
  for (const w of writes) byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  for (const [key, history] of byKey) {
    const acked = history.filter((w) => ACKNOWLEDGED.has(w.status));
    const candidates = history.filter((w) => ACKNOWLEDGED.has(w.status) || OPEN.has(w.status));
    // Not admissible: some acknowledged write started after this one ended.
    const admissible = candidates.filter((w) => !acked.some((later) => later.start > w.end));
    const value = final.get(key)?.value;
    const explained = admissible.some((w) => w.value === value) || (acked.length === 0 && value === undefined);
    if (!explained) {
      lost.push(key);
      problems.push(`${key}: final ${JSON.stringify(value)}, admissible ${JSON.stringify(admissible.map((w) => w.value ?? null).slice(-5))}`);
    }
  }
  for (const [key, entry] of final) {
    if (key.startsWith('load/') && !byKey.has(key)) problems.push(`${key}: holds ${entry.value} though nothing wrote it`);
  }
  return { operations: writes.length, acknowledged: writes.filter((w) => ACKNOWLEDGED.has(w.status)).length, lost, duplicated: duplicates(writes, changeLog, problems), problems };
}

function duplicates(writes: WriteRecord[], changeLog: { revision: number; commandId: string }[], problems: string[]): number {
  let duplicated = 0;
  changeLog.forEach((change, i) => {
    if (change.revision !== i + 1) {
      duplicated++;
      if (duplicated < 5) problems.push(`change log: revision ${change.revision} at position ${i + 1} (gap or duplicate)`);
    }
  });
  const commands = new Set(changeLog.map((c) => c.commandId));
  if (commands.size !== changeLog.length) problems.push(`change log: ${changeLog.length - commands.size} commands applied twice`);
  duplicated += changeLog.length - commands.size;
  const owners = new Map<number, WriteRecord>();
  for (const w of writes) {
    if (w.status !== 200 || w.revision === undefined) continue;
    const other = owners.get(w.revision);
    if (other) {
      duplicated++;
      problems.push(`revision ${w.revision} acknowledged twice: ${other.key}=${other.value} and ${w.key}=${w.value}`);
    }
    owners.set(w.revision, w);
  }
  return duplicated;
}
