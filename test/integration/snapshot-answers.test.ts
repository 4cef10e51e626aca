import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import postgres from 'postgres';
import { compareKeys } from '../../src/domain/key-order.js';
import { answerOf, type Answer } from '../../src/domain/keyspace.js';
import { migrate } from '../../src/store/migrations.js';
import { startEmbeddedDatabase } from '../../src/store/pglite-server.js';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { ServerError, simpleQuery, targetOf } from '../../src/store/simple-query.js';
import { tempDataDir } from '../support/instance.js';
import { DATABASE_URL, migratedStore } from './cluster.js';

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
  const head = await store.loadSnapshot({
    expect: () => {},
    entry: (bytes, keyStart, keyEnd, answerStart, answerEnd) =>
      answers.set(Buffer.from(bytes.subarray(keyStart, keyEnd)).toString('utf8'), Buffer.from(bytes.subarray(answerStart, answerEnd)).toString('utf8')),
  });
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
  const { cluster, store } = await migratedStore();
  await fill(cluster.sql);
  assertSameAsProcess(await snapshotOf(store));
});

test('PostgreSQL: a snapshot through the driver (as over TLS) is the one read over the wire', async () => {
  const { cluster, store: wire } = await migratedStore();
  const driver = new PostgresStore({ url: DATABASE_URL, schema: cluster.name, maxConnections: 1, wireSnapshot: false });
  after(() => driver.close());
  await fill(cluster.sql);
  // Enough rows for many socket chunks, and a value of several megabytes across hundreds of them.
  await cluster.sql`insert into kv_values (key, value, revision) select 'bulk:' || lpad(i::text, 6, '0'), repeat('v', i % 300), 100 + i from generate_series(1, 20000) i`;
  await cluster.sql`insert into kv_values (key, value, revision) values ('huge', ${'"\\é'.repeat(600_000)}, 50000)`;
  const overWire = await snapshotOf(wire);
  const throughDriver = await snapshotOf(driver);
  assert.equal(overWire.answers.size, TRICKY.length + 20001);
  assert.deepEqual([...overWire.answers], [...throughDriver.answers]);
  assert.equal(overWire.answers.get('huge'), answerOf('huge', '"\\é'.repeat(600_000), 50000));
});

test('PostgreSQL: a failing snapshot query rejects with the server\'s code, not a hang', async () => {
  const target = targetOf(DATABASE_URL)!;
  await assert.rejects(
    simpleQuery(target, 'select * from no_such_table_here', { dataRow: () => {}, copyData: () => {} }),
    (error: unknown) => error instanceof ServerError && error.code === '42P01',
  );
  await assert.rejects(simpleQuery({ ...target, database: 'no_such_database_here' }, 'select 1', { dataRow: () => {}, copyData: () => {} }), /no_such_database_here/);
});

test('PostgreSQL: a store written before answers were stored gets them on migration, as the process builds them', async () => {
  const { cluster, store } = await migratedStore();
  // Back to the first version of the schema, with its data written then.
  await cluster.sql.unsafe(
    'alter table kv_head drop column writes; alter table kv_values drop column answer; drop function kv_answer(text, text, bigint); delete from kv_migrations where version > 1',
  );
  await fill(cluster.sql);
  await store.migrate();
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
