import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exec } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Compiles the service into a private directory, so that a build started by someone else in the
 * shared dist/ cannot swap the code under a running measurement. package.json (module type),
 * node_modules and templates/ are linked beside it: the compiled code finds them by relative path.
 */
export async function buildPrivate(dir: string): Promise<{ main: string; bareUws: string }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of ['package.json', 'node_modules', 'templates']) symlinkSync(join(ROOT, name), join(dir, name));
  await exec(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false'], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { main: join(dir, 'dist/src/main.js'), bareUws: join(dir, 'dist/bench/baseline/bare-uws.js') };
}
