import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The V8 flags of package.json's start script (`node <flags> dist/src/main.js`), for whatever
 * starts the service without npm (the cluster script, the bench): one place says how it runs.
 * `root`: the directory of that package.json.
 */
export function serviceNodeFlags(root: string): string[] {
  const start = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const words = start.split(' ');
  if (words[0] !== 'node' || words.at(-1) !== 'dist/src/main.js') throw new Error(`package.json's start script is not "node <flags> dist/src/main.js": ${start}`);
  return words.slice(1, -1);
}
