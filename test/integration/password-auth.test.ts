import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { PostgresStore } from '../../src/store/postgres-store.js';
import { ServerError, simpleQuery, targetOf } from '../../src/store/simple-query.js';
import { startPasswordPostgres, type Role } from '../support/password-postgres.js';

/**
 * Production servers ask for a password. The service logs in twice: through the driver, and
 * through its own wire client for the snapshot (simple-query.ts), which answers each method itself.
 */
const ROLES: readonly Role[] = [
  { user: 'scram_user', method: 'scram-sha-256' },
  { user: 'md5_user', method: 'md5' },
  { user: 'plain_user', method: 'password' },
];

describe('PostgreSQL that asks for a password', () => {
  let server: Awaited<ReturnType<typeof startPasswordPostgres>>;
  before(async () => {
    server = await startPasswordPostgres(ROLES);
  });
  after(() => server?.stop());

  for (const role of ROLES) {
    test(`${role.method}: the snapshot's own connection logs in, and a wrong password is refused with 28P01, not a hang`, async () => {
      const rows: string[] = [];
      await simpleQuery(targetOf(server.url(role.user))!, 'select current_user', {
        dataRow: (bytes, start, end) => rows.push(bytes.toString('utf8', start, end)),
        copyData: () => {},
      });
      assert.equal(rows.length, 1);
      assert.ok(rows[0]!.endsWith(role.user), `one row naming ${role.user}: ${JSON.stringify(rows)}`);
      await assert.rejects(
        simpleQuery(targetOf(server.url(role.user, 'not the password'))!, 'select 1', { dataRow: () => {}, copyData: () => {} }),
        (error: unknown) => error instanceof ServerError && error.code === '28P01',
      );
    });

    test(`${role.method}: the store migrates through the driver and loads its snapshot over its own connection`, async () => {
      const url = server.url(role.user);
      const schema = `kv_${role.user}`;
      const notices: string[] = [];
      const store = new PostgresStore({ url, schema, maxConnections: 1, onNotice: (message) => notices.push(message) });
      const sql = postgres(url, { max: 1, onnotice: () => {}, connection: { search_path: schema } });
      try {
        await store.migrate();
        await sql`insert into kv_values (key, value, revision) values ('auth', ${role.method}, 1)`;
        await sql`update kv_head set revision = 1`;
        const loaded = new Map<string, string>();
        const head = await store.loadSnapshot({
          expect: () => {},
          entry: (bytes, keyStart, keyEnd, answerStart, answerEnd) =>
            loaded.set(Buffer.from(bytes.subarray(keyStart, keyEnd)).toString('utf8'), Buffer.from(bytes.subarray(answerStart, answerEnd)).toString('utf8')),
        });
        // Read over the store's own connection, not through the pool after that one failed.
        assert.deepEqual(notices.filter((n) => n.includes('snapshot')), []);
        assert.equal(head, 1);
        assert.deepEqual([...loaded.keys()], ['auth']);
        assert.ok(loaded.get('auth')!.endsWith(JSON.stringify({ key: 'auth', value: role.method })));
      } finally {
        await sql.end();
        await store.close();
      }
    });
  }
});
