import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { tempDataDir } from '../support/instance.js';

const MAIN = resolve(import.meta.dirname, '../../dist/src/main.js');

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

test('invalid configuration: non-zero exit, one line per problem, nothing started', async () => {
  const dataDir = join(tempDataDir(), 'never');
  const { code, stderr } = await run({ DATA_DIR: dataDir, SERVER_PORT: 'abc', AMQP_URL: 'amqp://localhost', MAX_VALUE_BYTES: 'lots' });
  assert.notEqual(code, 0);
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 3, stderr);
  assert.ok(lines.some((l) => l.includes('SERVER_PORT')), stderr);
  assert.ok(lines.some((l) => l.includes('MAX_VALUE_BYTES')), stderr);
  assert.ok(lines.some((l) => /DATABASE_URL is missing/.test(l)), stderr);
  assert.equal(existsSync(dataDir), false, 'no data directory is created for a refused configuration');
});

test('DATABASE_URL without AMQP_URL names AMQP_URL as missing', async () => {
  const { code, stderr } = await run({ DATA_DIR: tempDataDir(), DATABASE_URL: 'postgres://localhost/kv' });
  assert.notEqual(code, 0);
  assert.deepEqual(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /AMQP_URL is missing/);
});
