import type { Readable, Writable } from 'node:stream';
import { createInterface } from 'node:readline';

/** Copies a child's output line by line, each line prefixed by its name: `[replica-2] {...}`. */
export function prefixLines(input: Readable, name: string, output: Writable, onLine?: (line: string) => void): void {
  createInterface({ input, crlfDelay: Infinity }).on('line', (line) => {
    output.write(`[${name}] ${line}\n`);
    onLine?.(line);
  });
}

/** The script's own lines: JSON like the replicas' (pino) lines, so one parser reads them all. */
export function clusterLog(msg: string, fields: Record<string, unknown> = {}, level: 'info' | 'warn' | 'error' = 'info'): void {
  const line = JSON.stringify({ level, time: Date.now(), msg, ...fields });
  (level === 'info' ? process.stdout : process.stderr).write(`[cluster] ${line}\n`);
}
