import type { Sql } from 'postgres';

/**
 * Versioned schema. Keys are COLLATE "C" so ORDER BY key is byte order, the order of the
 * in-memory index. A change-log row with a null value is a deletion.
 */
const MIGRATIONS: readonly string[] = [
  `create table kv_head (
     id smallint primary key default 1 check (id = 1),
     revision bigint not null,
     compacted bigint not null
   );
   insert into kv_head (id, revision, compacted) values (1, 0, 0);
   create table kv_values (
     key text collate "C" primary key,
     value text not null,
     revision bigint not null
   );
   create table kv_changes (
     revision bigint primary key,
     key text collate "C" not null,
     value text,
     command_id text not null,
     at timestamptz not null
   );
   create table kv_outcomes (
     command_id text primary key,
     key text not null,
     status text not null,
     revision bigint,
     current_revision bigint,
     created_at timestamptz not null default now()
   );
   create index kv_outcomes_created_at on kv_outcomes (created_at);`,
  // Each entry's GET answer (see Answer in domain/keyspace.ts: the ETag, then the JSON body), kept
  // by the server so that a snapshot reads it instead of building it. to_json escapes text
  // exactly as JSON.stringify does (test/integration/snapshot-answers.test.ts holds the two to the
  // same bytes); it is declared stable only because of other types' output functions, so for text
  // the function is immutable, as a generated column needs.
  `create function kv_answer(key text, value text, revision bigint) returns text
     language sql immutable parallel safe
     as $$ select '"' || revision || '"{"key":' || to_json(key)::text || ',"value":' || to_json(value)::text || '}' $$;
   alter table kv_values add column answer text generated always as (kv_answer(key, value, revision)) stored;`,
  // The mark of the last batch written, those that changed nothing as well: a batch is written
  // only if this still holds what it was decided against (the revision alone stays put when a
  // batch only records failed preconditions, so it cannot tell that another consumer wrote
  // meanwhile). Each write leaves a random mark of its writer's choosing (it was a count once:
  // a batch sent behind an unconfirmed one expected the count that one would leave, which a
  // batch of another consumer could leave as well).
  `alter table kv_head add column writes bigint not null default 0;`,
];

/** Applies what is missing, under a transaction-scoped advisory lock so concurrent starts do not race. */
export async function migrate(sql: Sql, schema: string): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${'driftkv.migrate.' + schema}))`;
    await tx.unsafe(`create schema if not exists ${quoteIdent(schema)}`);
    await tx.unsafe(`set local search_path to ${quoteIdent(schema)}`);
    await tx`create table if not exists kv_migrations (version int primary key, applied_at timestamptz not null default now())`;
    const [row] = await tx<{ version: number | null }[]>`select max(version) as version from kv_migrations`;
    for (let version = (row?.version ?? 0) + 1; version <= MIGRATIONS.length; version++) {
      await tx.unsafe(MIGRATIONS[version - 1]!);
      await tx`insert into kv_migrations (version) values (${version})`;
    }
  });
}

export function quoteIdent(name: string): string {
  return '"' + name.replaceAll('"', '""') + '"';
}
