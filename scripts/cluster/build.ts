import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root, whether this runs from scripts/ (tsx) or from dist/scripts/ (built). */
export function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'driftkv') return dir;
  }
  throw new Error(`no driftkv package.json above ${from}`);
}

/**
 * The replicas run the built service, as in production. Missing: build it. Older than src/: say so
 * rather than rebuild, since a build under replicas that others may be running would swap their code.
 */
export function ensureBuilt(root: string, warn: (message: string) => void): void {
  const main = join(root, 'dist/src/main.js');
  if (!existsSync(main)) {
    const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
    if (tsc.status !== 0) throw new Error('the build failed (npm run build)');
    return;
  }
  if (newestSource(join(root, 'src')) > statSync(main).mtimeMs) warn('dist/ is older than src/: run npm run build for the latest code');
}

function newestSource(dir: string): number {
  return readdirSync(dir, { withFileTypes: true }).reduce((newest, entry) => {
    const path = join(dir, entry.name);
    return Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }, 0);
}
