import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPrivate } from './build.js';
import { LOAD_CPU } from './process.js';

const ROOT = resolve(import.meta.dirname, '../..');

/** A mistake in the command line: its message is all the user needs to see. */
export class UsageError extends Error {}

/** Compiles a git ref's files (or, without one, this working tree) into `dir`; returns its main. */
export async function buildRef(dir: string, ref: string | undefined): Promise<string> {
  if (ref === undefined) return (await buildPrivate(join(dir, 'build'))).main;
  const tree = join(dir, 'tree');
  mkdirSync(tree, { recursive: true });
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    throw new UsageError(`${ref} names no commit of this repository`);
  }
  execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${tree}'`], { cwd: ROOT });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  return (await buildPrivate(join(dir, 'build'), tree)).main;
}

/** `--name=N` among `args`, a positive whole number, or `fallback`. */
export function numberOption(args: string[], name: string, fallback: number): number {
  const raw = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`--${name} takes a positive whole number, not ${raw}`);
  return value;
}

/**
 * Builds `base` and `next` (a ref, or this working tree) and runs `run` on each in `pairs`
 * pairs, alternating which goes first; the builds are removed at exit.
 */
export async function alternateBuilds<R>(
  name: string,
  base: string,
  next: string | undefined,
  pairs: number,
  run: (main: string) => Promise<R>,
  each: (pair: { base: R; next: R }) => void,
): Promise<{ base: R; next: R }[]> {
  const dir = join(tmpdir(), `driftkv-${name}-${process.pid}`);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  console.error(`building ${base} and ${next ?? 'the working tree'}…`);
  const mains: [string, string] = [await buildRef(join(dir, 'base'), base), await buildRef(join(dir, 'new'), next)];
  const rows: { base: R; next: R }[] = [];
  for (let pair = 0; pair < pairs; pair++) {
    const runs: R[] = [];
    for (const which of pair % 2 ? [1, 0] : [0, 1]) runs[which] = await run(mains[which]!);
    rows.push({ base: runs[0]!, next: runs[1]! });
    each(rows.at(-1)!);
  }
  return rows;
}

/**
 * The command line of a two-build comparison (`<base ref> [<new ref>] [--pairs=N --seconds=N]`),
 * with this process moved to the load core (the builds run on the service core).
 */
export function comparisonArgs(script: string, defaults: { pairs: number; seconds: number }): { base: string; next: string | undefined; pairs: number; seconds: number } {
  const args = process.argv.slice(2);
  const refs = args.filter((a) => !a.startsWith('--'));
  if (refs.length < 1 || refs.length > 2) {
    throw new UsageError(`usage: npm run ${script} -- <base ref> [<new ref>] [--pairs=${defaults.pairs} --seconds=${defaults.seconds}]`);
  }
  const [base, next] = refs as [string, string | undefined];
  execFileSync('taskset', ['-a', '-cp', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  return { base, next, pairs: numberOption(args, 'pairs', defaults.pairs), seconds: numberOption(args, 'seconds', defaults.seconds) };
}
