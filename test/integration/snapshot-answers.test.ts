import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { compareKeys } from '../../src/domain/key-order.js';
import { answerOf, type Answer } from '../../src/domain/keyspace.js';
import { migrate } from '../../src/store/migrations.js';
import { startEmbeddedDatabase } from '../../src/store/pglite-server.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { tempDataDir } from '../support/instance.js';
import { Cluster, DATABASE_URL } from './cluster.js';

/**
 * A snapshot's answers are built by the server (to_json), every later one by the process
 * (JSON.stringify): the two must agree byte for byte, or a GET would change form after a restart.
 */
const TRICKY: readonly [string, string][] = [
  ['plain', 'hello'],
  ['quotes "and" \\backslashes\\', 'a "quoted" \\ value'],
  ['controls', 'tab\tnewline\nreturn\rback\bfeed\fbell\u0007esc\u001bunit\u001fdel\u007f'],
  ['unicode/é/日本', 'é ü 日本語 🚀 \u2028 \u2029 \u00a0 \ufeff'],
  ['markup', '<img src=x onerror=alert(1)></script><!--'],
  ['json-like', '{"key":"x","value":"y"}'],
  ['empty value', ''],
  ['slashes/a/b/', '/ // \\/'],
];

async function snapshotOf(store: PostgresStore): Promise<{ head: number; answers: Map<string, Answer> }> {
  const answers = new Map<string, Answer>();
  const head = await store.loadSnapshot((key, answer) => answers.set(key, Buffer.from(answer).toString('utf8')));
  return { head, answers };
}

async function fill(sql: postgres.Sql): Promise<void> {
  for (const [i, [key, value]] of TRICKY.entries()) await sql`insert into kv_values (key, value, revision) values (${key}, ${value}, ${i + 1})`;
  await sql`update kv_head set revision = ${TRICKY.length}`;
}

function assertSameAsProcess(loaded: { head: number; answers: Map<string, Answer> }): void {
  assert.equal(loaded.head, TRICKY.length);
  assert.deepEqual([...loaded.answers.keys()], TRICKY.map(([key]) => key).sort(compareKeys));
  for (const [i, [key, value]] of TRICKY.entries()) {
    const answer = loaded.answers.get(key);
    assert.equal(answer, answerOf(key, value, i + 1), `answer of ${JSON.stringify(key)}`);
    assert.deepEqual(JSON.parse(answer!.slice(answer!.indexOf('{'))), { key, value });
  }
}

test('PostgreSQL: snapshot answers are byte for byte those the process builds, in key byte order', async () => {
  const cluster = new Cluster(); // a schema of its own, dropped after
  const store = new PostgresStore({ url: DATABASE_URL, schema: cluster.name, maxConnections: 1 });
  after(async () => {
    await store.close();
    await cluster.destroy();
  });
  await store.migrate();
  await fill(cluster.sql);
  assertSameAsProcess(await snapshotOf(store));
});

test('PGlite: snapshot answers are byte for byte those the process builds, in key byte order', async () => {
  const db = await startEmbeddedDatabase(tempDataDir());
  try {
    // PGlite takes one connection at a time: fill it first, then read it as the service does.
    const sql = postgres({ path: db.socketPath, username: 'postgres', database: 'postgres', max: 1, onnotice: () => {} });
    try {
      await migrate(sql, 'public');
      await fill(sql);
    } finally {
      await sql.end();
    }
    const store = new PostgresStore({ socketPath: db.socketPath, schema: 'public', maxConnections: 1 });
    try {
      assertSameAsProcess(await snapshotOf(store));
    } finally {
      await store.close();
    }
  } finally {
    await db.close();
  }
});
