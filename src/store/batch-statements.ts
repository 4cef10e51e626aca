import type { Sql } from 'postgres';
import type { BatchDecision } from '../domain/decide.js';
import type { Outcome } from '../domain/events.js';
import { booleanArray, integerArray, textArray } from './array-literal.js';
import type { BatchState, WriteMark } from './store.js';

/** One snapshot: the head (revision and mark), the batch's keys' revisions, its command ids' outcomes. */
export async function readBatch(sql: Sql, commandIds: readonly string[], keys: readonly string[]): Promise<BatchState> {
  // A stored applied outcome comes with what its change wrote, while the change log still holds it.
  const rows = await sql<BatchRow[]>`
    select 0 as kind, writes::text as id, revision, null::text as key, null::text as status, null::bigint as current_revision,
        null::text as wrote, false as logged
      from kv_head where id = 1
    union all
    select 1, key::text, revision, null, null, null, null, false from kv_values where key = any(${textArray(keys)}::text[])
    union all
    select 2, o.command_id, o.revision, o.key, o.status, o.current_revision, c.value, c.revision is not null
      from kv_outcomes o left join kv_changes c on o.status = 'applied' and c.revision = o.revision
      where o.command_id = any(${textArray(commandIds)}::text[])`;
  let head: BatchRow | undefined;
  const current = new Map<string, number>();
  const known = new Map<string, Outcome>();
  for (const row of rows) {
    if (row.kind === 0) head = row;
    else if (row.kind === 1) current.set(row.id, Number(row.revision));
    else {
      const outcome = toOutcome({ command_id: row.id, key: row.key!, status: row.status!, revision: row.revision, current_revision: row.current_revision });
      known.set(row.id, outcome.status === 'applied' && row.logged ? { ...outcome, wrote: row.wrote } : outcome);
    }
  }
  if (!head) throw new Error('kv_head has no row: the schema was not migrated');
  return { head: Number(head.revision), mark: Number(head.id), current, known };
}

/**
 * A batch's write, ready to go: the connection it goes to (`sql`) and `send`, which resolves
 * whether it was written. One statement, so one implicit transaction: the head row is updated only if its mark is still
 * `mark.expected`, the one the batch was decided against (taking its lock: a concurrent writer
 * waits, then sees the mark changed), and every other write happens only if that update did. A
 * consumer frozen between its read and this write holds no lock, and when it wakes its write
 * changes nothing. An outcome already stored for one of its command ids (a redelivery decided
 * without reading) fails the whole statement on kv_outcomes' key: false, nothing written.
 *
 * `connections.cached` may keep one plan for all runs: a batch that deletes nothing is written
 * there, by a statement that scans no table whatever its plan (its inserts read their arrays, the
 * upsert's conflicts are found through the key). A batch that deletes goes through
 * `connections.planned`, planned with its arrays on every run: its delete, planned once while
 * kv_values was small, went on reading the table whole once it had grown.
 */
export function batchWrite(connections: { planned: Sql; cached: Sql }, decision: BatchDecision, mark: WriteMark): { readonly sql: Sql; send(): Promise<boolean> } {
  const w = writeArrays(decision);
  // One test decides both the statement's delete and its connection: the cached plan never has one.
  const sql = w.deletes ? connections.planned : connections.cached;
  const parameters = [decision.head, mark.expected, w.revisions, w.keys, w.values, w.commandIds, w.last, decision.at];
  parameters.push(w.outcomeIds, w.outcomeKeys, w.outcomeStatus, w.outcomeCurrent, mark.next);
  if (w.deletes) parameters.push(w.deleted);
  const send = async (): Promise<boolean> => {
    try {
      const [row] = await sql.unsafe<{ won: number }[]>(w.deletes ? WRITE.deleting : WRITE.plain, parameters, { prepare: true });
      return row!.won === 1;
    } catch (error) {
      if (isDecidedBefore(error)) return false;
      throw error;
    }
  };
  return { sql, send };
}

function isDecidedBefore(error: unknown): boolean {
  const e = error as { code?: unknown; table_name?: unknown };
  return e.code === '23505' && e.table_name === 'kv_outcomes';
}

/**
 * The write, as one constant text per variant (a batch that deletes has the delete): the driver
 * finds its prepared statement by the text, which a tagged template rebuilt on every batch.
 * Each change is sent once (its revision, key, value, command id, and whether it is its key's last
 * in the batch); the values upserted and the applied outcomes are read from it in SQL.
 */
function writeSql(deletes: boolean): string {
  return `
    with head as (
      update kv_head set revision = $1, writes = $13 where id = 1 and writes = $2 returning 1
    ), c as (
      select * from unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::bool[]) as c(revision, key, value, command_id, last)
        where exists (select from head)
    ), put as (
      insert into kv_values (key, value, revision)
      select key, value, revision from c where last and value is not null
      on conflict (key) do update set value = excluded.value, revision = excluded.revision
    ), ${deletes ? 'deleted as (delete from kv_values where key = any($14::text[]) and exists (select from head)),' : ''} logged as (
      insert into kv_changes (revision, key, value, command_id, at) select revision, key, value, command_id, $8::timestamptz from c
    ), decided as (
      insert into kv_outcomes (command_id, key, status, revision, current_revision)
      select command_id, key, 'applied', revision, null from c
      union all
      select command_id, key, status, null, current_revision from unnest($9::text[], $10::text[], $11::text[], $12::bigint[])
          as o(command_id, key, status, current_revision)
        where exists (select from head)
    )
    select count(*)::int as won from head`;
}

const WRITE = { plain: writeSql(false), deleting: writeSql(true) };

export async function outcomeOf(sql: Sql, commandId: string): Promise<Outcome | undefined> {
  const [row] = await sql<OutcomeRow[]>`
    select command_id, key, status, revision, current_revision from kv_outcomes where command_id = ${commandId}`;
  return row && toOutcome(row);
}

interface OutcomeRow {
  command_id: string;
  key: string;
  status: string;
  revision: string | null;
  current_revision: string | null;
}

/** readBatch's rows: 0 the head (id: its mark), 1 a stored key (id) and its revision, 2 a stored outcome (id: its command id). */
interface BatchRow {
  kind: number;
  id: string;
  revision: string | null;
  key: string | null;
  status: string | null;
  current_revision: string | null;
  /** An applied outcome's change: its value (null: a delete), when `logged`. */
  wrote: string | null;
  logged: boolean;
}

/**
 * A decision as the columns of batchWrite's set-based statement (unnest of arrays, not a parameter
 * per cell; each array sent as its literal, array-literal.ts): its changes, each with whether it is
 * the last of its key in the batch (the value that stays), the keys it leaves deleted, and the
 * outcomes no change carries (every applied outcome is its change's; the others have no revision).
 */
function writeArrays(decision: BatchDecision) {
  const { changes, finalState } = decision;
  const deleted: string[] = [];
  for (const [key, entry] of finalState) if (!entry) deleted.push(key);
  const refused = decision.decided.filter((o) => o.status !== 'applied');
  return {
    revisions: integerArray(changes.map((c) => c.revision)),
    keys: textArray(changes.map((c) => c.key)),
    values: textArray(changes.map((c) => (c.type === 'value.put' ? c.value : null))),
    commandIds: textArray(changes.map((c) => c.commandId)),
    last: booleanArray(changes.map((c) => finalState.get(c.key)?.revision === c.revision)),
    deleted: textArray(deleted),
    deletes: deleted.length > 0,
    outcomeIds: textArray(refused.map((o) => o.commandId)),
    outcomeKeys: textArray(refused.map((o) => o.key)),
    outcomeStatus: textArray(refused.map((o) => o.status)),
    outcomeCurrent: integerArray(refused.map((o) => (o.status === 'precondition_failed' ? o.current : null))),
  };
}

function toOutcome(r: OutcomeRow): Outcome {
  const base = { commandId: r.command_id, key: r.key };
  switch (r.status) {
    case 'applied':
      return { ...base, status: 'applied', revision: Number(r.revision) };
    case 'not_found':
      return { ...base, status: 'not_found' };
    default:
      return { ...base, status: 'precondition_failed', current: r.current_revision === null ? null : Number(r.current_revision) };
  }
}
