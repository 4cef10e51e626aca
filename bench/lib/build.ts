import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { exec } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/**
 * Compiles the service into a private directory, so that a build started by someone else in the
 * shared dist/ cannot swap the code under a running measurement. package.json (module type),
 * node_modules and templates/ are linked beside it: the compiled code finds them by relative path.
 * `source`: the tree to compile (this checkout, or another commit's files: see bench/compare.ts);
 * node_modules are always this checkout's.
 */
export async function buildPrivate(dir: string, source = ROOT): Promise<{ main: string; bareUws: string; bareWritePath: string }> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of ['package.json', 'templates']) symlinkSync(join(source, name), join(dir, name));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  await exec(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(source, 'tsconfig.json'), '--outDir', join(dir, 'dist'), '--sourceMap', 'false'], {
    cwd: source,
    maxBuffer: 16 * 1024 * 1024,
  });
  return { main: join(dir, 'dist/src/main.js'), bareUws: join(dir, 'dist/bench/baseline/bare-uws.js'), bareWritePath: join(dir, 'dist/bench/baseline/bare-write-path.js') };
}
