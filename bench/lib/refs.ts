import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildPrivate } from './build.js';

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
