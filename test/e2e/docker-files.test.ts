import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { fillTemplate, findNginx, writeMainConfig } from '../../scripts/cluster/nginx.js';

/**
 * No Docker engine runs here: what can be checked without one is that the compose file, the
 * Dockerfile, the nginx template and .env.example agree with each other and with the build.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const compose = parse(read('docker/compose.yaml'), { merge: true });
const dockerfile = read('docker/Dockerfile');
const template = read('docker/nginx.conf.template');
const services: Record<string, any> = compose.services;
const replicas = Object.entries(services).filter(([, s]) => s.build?.dockerfile === 'docker/Dockerfile');
const nginx = services.nginx;

test('compose: postgres, rabbitmq, three driftkv replicas and nginx', () => {
  assert.deepEqual(Object.keys(services).sort(), ['driftkv-1', 'driftkv-2', 'driftkv-3', 'nginx', 'postgres', 'rabbitmq']);
  assert.equal(replicas.length, 3);
  assert.equal(new Set(replicas.map(([, s]) => s.environment.INSTANCE_ID)).size, 3, 'each replica has its own INSTANCE_ID');
});

test('compose: every variable given to driftkv is listed in .env.example, and they run distributed', () => {
  const documented = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
  for (const [name, service] of replicas) {
    for (const variable of Object.keys(service.environment)) assert.ok(documented.has(variable), `${name}: ${variable} is not in .env.example`);
    assert.ok(service.environment.AMQP_URL && service.environment.DATABASE_URL, `${name}: both AMQP_URL and DATABASE_URL`);
  }
});

test('compose: the replicas reach the postgres and rabbitmq services with the credentials those are given', () => {
  const pg = services.postgres.environment;
  for (const [name, service] of replicas) {
    const database = new URL(service.environment.DATABASE_URL);
    assert.deepEqual([database.hostname, database.username, database.password, database.pathname], ['postgres', pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, `/${pg.POSTGRES_DB}`], name);
    assert.equal(new URL(service.environment.AMQP_URL).hostname, 'rabbitmq', name);
  }
});

test('compose: every service waited for is healthy-checked, by compose or by the image', () => {
  const imageHealthcheck = /^HEALTHCHECK /m.test(dockerfile);
  for (const [name, service] of Object.entries(services)) {
    for (const [dependency, condition] of Object.entries<any>(service.depends_on ?? {})) {
      assert.equal(condition.condition, 'service_healthy', `${name} → ${dependency}`);
      const target = services[dependency];
      assert.ok(target, `${name} depends on a missing service ${dependency}`);
      assert.ok(target.healthcheck || (target.build && imageHealthcheck), `${dependency} has no healthcheck`);
    }
  }
});

test('compose: nginx provides every ${VAR} of the template and balances over every replica', () => {
  const needed = new Set([...template.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]!));
  assert.deepEqual([...needed].sort(), Object.keys(nginx.environment).sort());
  assert.ok(nginx.volumes.some((v: string) => /^\.\/nginx\.conf\.template:\/etc\/nginx\/templates\/[^:]+\.conf\.template(:ro)?$/.test(v)), 'the template is mounted where the image fills it');
  const upstreams = [...String(nginx.environment.NGINX_UPSTREAM_SERVERS).matchAll(/server ([\w.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(upstreams.sort(), replicas.map(([name, s]) => `${name}:${s.environment.SERVER_PORT}`).sort());
  assert.deepEqual(nginx.ports, [`\${SERVER_PORT:-8999}:${nginx.environment.NGINX_PORT}`]);
});

test('nginx accepts the template as compose fills it (nginx -t)', (t) => {
  const binary = findNginx();
  if (!binary) return t.skip('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'driftkv-nginx-check-'));
  try {
    // The replicas' names resolve inside compose only: point them at localhost for the syntax check.
    const environment = { ...nginx.environment, NGINX_UPSTREAM_SERVERS: nginx.environment.NGINX_UPSTREAM_SERVERS.replace(/driftkv-\d+/g, '127.0.0.1') };
    writeFileSync(join(dir, 'driftkv.conf'), fillTemplate(template, environment));
    const config = writeMainConfig({ dir, templatePath: '', listen: '' });
    const check = spawnSync(binary, ['-t', '-p', dir, '-c', config, '-e', 'stderr'], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Dockerfile: its entry point is in the build output, what it copies exists, it runs as non-root with production dependencies', () => {
  const cmd = dockerfile.match(/^CMD \[(.*)\]$/m)?.[1];
  // The same command as package.json's start script, V8 flag included.
  const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  assert.equal(cmd, start.split(' ').map((word) => JSON.stringify(word)).join(', '));
  assert.equal(cmd, '"node", "--max-semi-space-size=4", "--single-threaded-gc", "dist/src/main.js"');
  assert.ok(existsSync(join(ROOT, 'dist/src/main.js')), 'dist/src/main.js (npm run build) exists');
  for (const [, from] of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) assert.ok(existsSync(join(ROOT, from!)), `COPY ${from}: missing`);
  assert.ok(existsSync(join(ROOT, 'templates/index.hbs')));
  assert.match(dockerfile, /^COPY --from=build \/app\/dist\/src \.\/dist\/src$/m);
  assert.match(dockerfile, /npm ci --omit=dev/);
  assert.match(dockerfile, /^USER node$/m);
  const port = dockerfile.match(/^EXPOSE (\d+)$/m)?.[1];
  assert.ok(replicas.every(([, s]) => s.environment.SERVER_PORT === port), 'the replicas listen on the exposed port');
});

test('Dockerfile.dockerignore lets in everything the Dockerfile copies', () => {
  const ignore = read('docker/Dockerfile.dockerignore');
  for (const [, from] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const path of from!.split(' ')) assert.ok(ignore.includes(`!${path}`), `${path} is excluded from the build context`);
  }
});
