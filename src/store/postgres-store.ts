import postgres, { type Sql, type TransactionSql } from 'postgres';
import type { BatchDecision, StoredEntry } from '../domain/decide.js';
import type { Change, Outcome } from '../domain/events.js';
import { migrate } from './migrations.js';
import type { BatchTransaction, Store } from './store.js';

export interface PostgresStoreOptions {
  /** A connection URL, or a Unix socket path (embedded mode serves PGlite on one). */
  readonly url?: string;
  readonly socketPath?: string;
  readonly schema: string;
  readonly maxConnections: number;
  readonly onNotice?: (message: string) => void;
}

interface ChangeRow {
  revision: string;
  key: string;
  value: string | null;
  command_id: string;
  at: Date;
}

/** The one store adapter: the same SQL serves PostgreSQL and PGlite. */
export class PostgresStore implements Store {
  private sql: Sql;

  constructor(private readonly options: PostgresStoreOptions) {
    this.sql = connect(options);
  }

  /**
   * The faulted connection keeps a stale write buffer and timer, so it would fail every later
   * query: a new pool takes over, the old one is ended once its transactions are over (or fail).
   */
  resetConnections(): void {
    const old = this.sql;
    this.sql = connect(this.options);
    old.end({ timeout: 5 }).catch(() => {});
  }

  migrate(): Promise<void> {
    return migrate(this.sql, this.options.schema);
  }

  /**
   * The reads and then the writes of a batch are each sent together (pipelined), so a commit costs
   * BEGIN, one read exchange, one write exchange and COMMIT, whatever the batch size.
   */
  async transaction<T>(work: (tx: BatchTransaction) => Promise<T>): Promise<T> {
    return (await this.sql.begin((tx) => work(batchTransaction(tx)))) as T;
  }

  /**
   * The server builds each entry's answer (see Answer in the keyspace: the ETag, then the JSON
   * body), in the format answerOf gives; to_json escapes text exactly as JSON.stringify does. The
   * process decodes only the key and copies the answer's bytes as they came, and the server does
   * its part on another core while rows stream in.
   */
  async loadSnapshot(onEntry: (key: string, answer: Uint8Array) => void): Promise<number> {
    let head = 0;
    await this.sql.begin('isolation level repeatable read read only', async (tx) => {
      const [row] = await tx<{ revision: string }[]>`select revision from kv_head where id = 1`;
      head = Number(row!.revision);
      // In key order the keyspace appends instead of searching; the primary key's index gives
      // that order as it goes, where a sort of the whole table would spill to disk first.
      await tx`set local enable_sort = off`;
      // forEach, not a cursor: one Execute, rows handled as they arrive and never held. Raw: the
      // answer goes to the keyspace as the bytes that came in, never decoded into a string.
      await tx`
        select key, '"' || revision || '"{"key":' || to_json(key)::text || ',"value":' || to_json(value)::text || '}' as answer
        from kv_values order by key`
        .raw()
        .forEach((row) => {
          const [key, answer] = row as unknown as [Buffer, Buffer];
          onEntry(key.toString('utf8'), answer);
        });
    });
    return head;
  }

  async changesSince(revision: number, limit: number): Promise<Change[] | 'compacted'> {
    const [head] = await this.sql<{ compacted: string }[]>`select compacted from kv_head where id = 1`;
    if (revision < Number(head!.compacted)) return 'compacted';
    const rows = await this.sql<ChangeRow[]>`
      select revision, key, value, command_id, at from kv_changes
      where revision > ${revision} order by revision limit ${limit}`;
    return rows.map(toChange);
  }

  async head(): Promise<number> {
    const [row] = await this.sql<{ revision: string }[]>`select revision from kv_head where id = 1`;
    return Number(row!.revision);
  }

  async outcome(commandId: string): Promise<Outcome | undefined> {
    return (await batchTransaction(this.sql).outcomes([commandId])).get(commandId);
  }

  async prune(retainChanges: number, retainOutcomesMs: number): Promise<void> {
    await this.sql.begin(async (tx) => {
      const [row] = await tx<{ revision: string; compacted: string }[]>`select revision, compacted from kv_head where id = 1 for update`;
      const upTo = Number(row!.revision) - retainChanges;
      if (upTo > Number(row!.compacted)) {
        await tx`delete from kv_changes where revision <= ${upTo}`;
        await tx`update kv_head set compacted = ${upTo} where id = 1`;
      }
    });
    await this.sql`delete from kv_outcomes where created_at < now() - ${retainOutcomesMs / 1000} * interval '1 second'`;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 2 });
  }
}

const IDLE_IN_TRANSACTION_MS = 10_000;

function connect(options: PostgresStoreOptions): Sql {
  const common = {
    max: options.maxConnections,
    onnotice: (notice: { message?: string }) => options.onNotice?.(String(notice.message)),
    connection: {
      search_path: options.schema,
      application_name: 'driftkv',
      // A consumer frozen mid-batch (SIGSTOP, a VM pause) holds the head row's lock: the server
      // ends its session after this, so the consumer the broker hands the queue to can commit.
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
      // Statements are prepared once and planned on every run with their real arrays. A generic
      // plan made while a table was small keeps scanning it whole once it is large: at 100,000
      // keys half of the batch reads were sequential scans and the consumer's backend used 60%
      // of a core.
      plan_cache_mode: 'force_custom_plan',
    },
    idle_timeout: 0,
    connect_timeout: 10,
  };
  return options.socketPath
    ? postgres({ ...common, path: options.socketPath, username: 'postgres', database: 'postgres' })
    : postgres(options.url!, common);
}

function batchTransaction(tx: TransactionSql | Sql): BatchTransaction {
  return {
    async lockHead() {
      const [row] = await tx<{ revision: string }[]>`select revision from kv_head where id = 1 for update`;
      return Number(row!.revision);
    },
    async outcomes(commandIds) {
      const rows = await tx<{ command_id: string; key: string; status: string; revision: string | null; current_revision: string | null }[]>`
        select command_id, key, status, revision, current_revision from kv_outcomes
        where command_id = any(${tx.array(commandIds as string[])}::text[])`;
      return new Map(rows.map((r) => [r.command_id, toOutcome(r)]));
    },
    async entries(keys) {
      const rows = await tx<{ key: string; value: string; revision: string }[]>`
        select key, value, revision from kv_values where key = any(${tx.array(keys as string[])}::text[])`;
      return new Map<string, StoredEntry>(rows.map((r) => [r.key, { value: r.value, revision: Number(r.revision) }]));
    },
    async write(decision) {
      await Promise.all(writeDecision(tx, decision));
    },
  };
}

/**
 * Set-based writes: one statement per table whatever the batch size (unnest of arrays, not a
 * parameter per cell), all sent at once (pipelined: one round trip, not four).
 */
function writeDecision(tx: TransactionSql | Sql, decision: BatchDecision): Promise<unknown>[] {
  const putKeys: string[] = [];
  const putValues: string[] = [];
  const putRevisions: number[] = [];
  const deleted: string[] = [];
  for (const [key, entry] of decision.finalState) {
    if (entry) {
      putKeys.push(key);
      putValues.push(entry.value);
      putRevisions.push(entry.revision);
    } else deleted.push(key);
  }
  const statements: Promise<unknown>[] = [];
  if (putKeys.length > 0) {
    statements.push(tx`
      insert into kv_values (key, value, revision)
      select * from unnest(${tx.array(putKeys)}::text[], ${tx.array(putValues)}::text[], ${tx.array(putRevisions)}::bigint[])
      on conflict (key) do update set value = excluded.value, revision = excluded.revision`);
  }
  if (deleted.length > 0) statements.push(tx`delete from kv_values where key = any(${tx.array(deleted)}::text[])`);
  if (decision.changes.length > 0) {
    const c = decision.changes;
    statements.push(tx`
      insert into kv_changes (revision, key, value, command_id, at)
      select * from unnest(
        ${tx.array(c.map((x) => x.revision))}::bigint[], ${tx.array(c.map((x) => x.key))}::text[],
        ${tx.array(c.map((x) => (x.type === 'value.put' ? x.value : null)) as string[])}::text[],
        ${tx.array(c.map((x) => x.commandId))}::text[], ${tx.array(c.map((x) => x.at))}::timestamptz[])`);
    statements.push(tx`update kv_head set revision = ${decision.head} where id = 1`);
  }
  if (decision.decided.length > 0) {
    const o = decision.decided;
    statements.push(tx`
      insert into kv_outcomes (command_id, key, status, revision, current_revision)
      select * from unnest(
        ${tx.array(o.map((x) => x.commandId))}::text[], ${tx.array(o.map((x) => x.key))}::text[],
        ${tx.array(o.map((x) => x.status))}::text[],
        ${tx.array(o.map((x) => (x.status === 'applied' ? x.revision : null)) as number[])}::bigint[],
        ${tx.array(o.map((x) => (x.status === 'precondition_failed' ? x.current : null)) as number[])}::bigint[])
      on conflict (command_id) do nothing`);
  }
  return statements;
}

function toChange(r: ChangeRow): Change {
  const base = { key: r.key, revision: Number(r.revision), commandId: r.command_id, at: new Date(r.at).toISOString() };
  return r.value === null ? { type: 'value.deleted', ...base } : { type: 'value.put', value: r.value, ...base };
}

function toOutcome(r: { command_id: string; key: string; status: string; revision: string | null; current_revision: string | null }): Outcome {
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
