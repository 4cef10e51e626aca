import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';

function problems(env: Record<string, string>): string[] {
  const result = loadConfig(env);
  assert.equal(result.ok, false, 'expected the configuration to be refused');
  return result.ok ? [] : result.problems;
}

test('an empty environment is embedded mode with the documented defaults', () => {
  const result = loadConfig({});
  assert.ok(result.ok);
  const { config } = result;
  assert.equal(config.mode, 'embedded');
  assert.equal(config.port, 8999);
  assert.equal(config.dataDir, './data');
  assert.equal(config.maxKeyBytes, 1024);
  assert.equal(config.maxValueBytes, 1024 * 1024);
  assert.equal(config.consumer, true);
  assert.match(config.instanceId, /.+:\d+$/);
});

test('values are read from the environment', () => {
  const result = loadConfig({ SERVER_PORT: '0', MAX_KEY_BYTES: '16', CONSUMER: 'OFF', INSTANCE_ID: 'node-a', LOG_LEVEL: 'warn' });
  assert.ok(result.ok);
  assert.equal(result.config.port, 0);
  assert.equal(result.config.maxKeyBytes, 16);
  assert.equal(result.config.consumer, false);
  assert.equal(result.config.instanceId, 'node-a');
  assert.equal(result.config.logLevel, 'warn');
});

test('both URLs select the distributed mode', () => {
  const result = loadConfig({ AMQP_URL: 'amqp://guest:guest@localhost:5672', DATABASE_URL: 'postgres://u:p@localhost/kv' });
  assert.ok(result.ok);
  assert.equal(result.config.mode, 'distributed');
});

test('only one of AMQP_URL / DATABASE_URL: one line naming the missing one', () => {
  const onlyAmqp = problems({ AMQP_URL: 'amqp://localhost' });
  assert.equal(onlyAmqp.length, 1);
  assert.match(onlyAmqp[0]!, /DATABASE_URL is missing/);
  const onlyDatabase = problems({ DATABASE_URL: 'postgres://localhost/kv' });
  assert.equal(onlyDatabase.length, 1);
  assert.match(onlyDatabase[0]!, /AMQP_URL is missing/);
});

test('every problem is reported, one line each, naming its variable', () => {
  const env = {
    SERVER_PORT: 'abc',
    MAX_KEY_BYTES: '0',
    MAX_VALUE_BYTES: '-5',
    WRITE_TIMEOUT_MS: '1.5',
    RESYNC_INTERVAL_MS: '1',
    CONSUMER: 'maybe',
    CONSUMER_PREFETCH: '70000',
    LOG_LEVEL: 'loud',
    AMQP_URL: 'http://broker',
    DATABASE_URL: 'mysql://db',
  };
  const lines = problems(env);
  for (const name of Object.keys(env)) {
    assert.ok(lines.some((line) => line.startsWith(name)), `no line for ${name}: ${lines.join(' | ')}`);
  }
  assert.equal(lines.length, Object.keys(env).length);
  assert.ok(lines.every((line) => !line.includes('\n')));
});

test('a port out of range is refused', () => {
  assert.match(problems({ SERVER_PORT: '65536' })[0]!, /^SERVER_PORT/);
});

test('an INSTANCE_ID that could not be sent as a header value is refused', () => {
  for (const bad of ['a\r\nSet-Cookie: x=1', 'two words', 'é', 'x'.repeat(201)]) assert.match(problems({ INSTANCE_ID: bad })[0]!, /^INSTANCE_ID=.*visible ASCII/, bad);
  assert.equal(loadConfig({ INSTANCE_ID: 'replica-1:4242' }).ok, true);
});

test('access control is off by default', () => {
  const result = loadConfig({});
  assert.ok(result.ok);
  assert.equal(result.config.writeToken, undefined);
  assert.equal(result.config.readToken, undefined);
  assert.deepEqual(result.config.allowedOrigins, []);
});

test('a token shorter than 16 characters is refused, without echoing it', () => {
  const lines = problems({ WRITE_TOKEN: 'secret-123', READ_TOKEN: 'also-short' });
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /^WRITE_TOKEN: too short \(10 characters\)/);
  assert.match(lines[1]!, /^READ_TOKEN: too short/);
  assert.ok(!lines.join('\n').includes('secret-123'));
});

test('a token that cannot be sent as a bearer token, or READ_TOKEN without WRITE_TOKEN, is refused', () => {
  assert.match(problems({ WRITE_TOKEN: 'has spaces in the token!' })[0]!, /^WRITE_TOKEN: only letters/);
  assert.match(problems({ READ_TOKEN: '0123456789abcdef0123' })[0]!, /WRITE_TOKEN is missing/);
});

test('ALLOWED_ORIGINS is a comma-separated list of origins, normalized as browsers send them', () => {
  const result = loadConfig({ ALLOWED_ORIGINS: 'https://App.Example.com, http://localhost:8999/' });
  assert.ok(result.ok);
  assert.deepEqual(result.config.allowedOrigins, ['https://app.example.com', 'http://localhost:8999']);
  assert.match(problems({ ALLOWED_ORIGINS: 'example.com,https://x.test/path' })[0]!, /^ALLOWED_ORIGINS: "example.com"/);
});
