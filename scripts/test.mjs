#!/usr/bin/env node
// Builds, then runs every test/**/*.test.ts with node's test runner (tests spawn the built service).
// Exits non-zero when a test fails, and also when no test ran at all.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const only = process.argv.slice(2);
const roots = only.length > 0 ? only : ['test'];
const files = roots.flatMap((root) => (statSync(root).isDirectory() ? find(root) : [root])).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);

const tap = join(mkdtempSync(join(tmpdir(), 'driftkv-test-')), 'report.tap');
const run = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files],
  { stdio: 'inherit', env: { ...process.env, DRIFTKV_TEST: '1' } },
);
const report = readFileSync(tap, 'utf8');
const count = (name) => Number(report.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0);
const passed = count('pass');
const failed = count('fail');
console.log(`\n${passed} passed, ${failed} failed, ${count('skipped')} skipped`);
if (passed === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(run.status ?? 1);

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return find(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}
