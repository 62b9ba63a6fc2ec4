import { sql } from "kysely";
import { select, type Result, type Row } from "./report.ts";

/** PgHero's rule for index usage: on a table of 10,000 rows or more, under 95 % of scans by index is worth a look. */
const USAGE = { min_table_rows: 10_000, index_scan_share: 0.95 };

interface Index {
  schema: string;
  table: string;
  index: string;
  /** schema.index, quoted for DDL. */
  name: string;
  method: string;
  unique: boolean;
  primary: boolean;
  valid: boolean;
  building: boolean;
  constraint_backed: boolean;
  /** Key columns in order (null for an expression); INCLUDE columns are not keys. */
  columns: (string | null)[];
  included: number;
  expressions: string | null;
  predicate: string | null;
  definition: string;
  size_bytes: number;
  idx_scan: number;
  idx_tup_read: number;
  idx_tup_fetch: number;
  table_seq_scan: number;
  table_idx_scan: number;
  table_rows: number;
}

/** Every index of the user's schemas, with its usage counters and its table's. */
function indexes(): Promise<Index[]> {
  return select<Index>(sql`
    select n.nspname as schema, t.relname as table, i.relname as index, format('%I.%I', n.nspname, i.relname) as name,
           am.amname as method, x.indisunique as unique, x.indisprimary as primary, x.indisvalid as valid,
           exists (select 1 from pg_stat_progress_create_index p where p.index_relid = x.indexrelid) as building,
           exists (select 1 from pg_constraint c where c.conindid = x.indexrelid) as constraint_backed,
           (select coalesce(json_agg(a.attname order by k.n), '[]')
            from unnest(x.indkey::int2[]) with ordinality k(attnum, n)
            left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = k.attnum
            where k.n <= x.indnkeyatts) as columns,
           x.indnatts - x.indnkeyatts as included,
           pg_get_expr(x.indexprs, x.indrelid) as expressions, pg_get_expr(x.indpred, x.indrelid) as predicate,
           pg_get_indexdef(x.indexrelid) as definition, pg_relation_size(x.indexrelid)::int8 as size_bytes,
           coalesce(s.idx_scan, 0)::int8 as idx_scan, coalesce(s.idx_tup_read, 0)::int8 as idx_tup_read,
           coalesce(s.idx_tup_fetch, 0)::int8 as idx_tup_fetch,
           coalesce(st.seq_scan, 0)::int8 as table_seq_scan, coalesce(st.idx_scan, 0)::int8 as table_idx_scan,
           greatest(t.reltuples, 0)::int8 as table_rows
    from pg_index x
    join pg_class i on i.oid = x.indexrelid
    join pg_class t on t.oid = x.indrelid
    join pg_namespace n on n.oid = t.relnamespace
    join pg_am am on am.oid = i.relam
    left join pg_stat_user_indexes s on s.indexrelid = x.indexrelid
    left join pg_stat_user_tables st on st.relid = x.indrelid
    where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
    order by n.nspname, t.relname, i.relname`);
}

/** Scans, tuples read and size of every index; flagged where a big table is mostly read by sequential scans. */
export async function indexUsage(): Promise<Result> {
  const rows = (await indexes()).map(({ table, index, idx_scan, idx_tup_read, idx_tup_fetch, size_bytes, table_seq_scan, table_idx_scan, table_rows }) => {
    const scans = table_seq_scan + table_idx_scan;
    const share = scans ? Math.round((table_idx_scan / scans) * 1000) / 1000 : null;
    const flagged = table_rows >= USAGE.min_table_rows && share !== null && share < USAGE.index_scan_share;
    return { table, index, idx_scan, idx_tup_read, idx_tup_fetch, size_bytes, table_rows, table_seq_scan, table_index_scan_share: share, flagged };
  });
  return { available: true, description: "every index's scans, tuples read and fetched, and size; its table's share of scans by index", thresholds: USAGE, rows };
}

/** Indexes never scanned since the statistics were reset, that no uniqueness or constraint needs: candidates to drop. */
export async function unusedIndexes(): Promise<Result> {
  const [found, [reset]] = await Promise.all([
    indexes(),
    select<{ stats_reset: Date | null }>(sql`select stats_reset from pg_stat_database where datname = current_database()`),
  ]);
  const rows = found
    .filter((i) => i.idx_scan === 0 && i.valid && !i.unique && !i.primary && !i.constraint_backed)
    .map((i) => ({ table: i.table, index: i.index, size_bytes: i.size_bytes, definition: i.definition, drop: `DROP INDEX CONCURRENTLY ${i.name};`, flagged: true }));
  return {
    available: true,
    description: "indexes with no scan since the statistics were reset, not unique and backing no constraint",
    thresholds: { idx_scan: 0 },
    // Counts start at the last reset: an index used once a month needs a month of them.
    summary: { counting_since: reset?.stats_reset ?? "the server's start of statistics (never reset)" },
    rows,
  };
}

/**
 * PgHero's rule: an index is a duplicate when another valid index on the same
 * table, with the same method, expressions and predicate, starts with all its
 * columns (equal columns: the unique or primary one stays, else the first by name).
 */
export async function duplicateIndexes(): Promise<Result> {
  const all = (await indexes()).filter((i) => i.valid);
  const rows: Row[] = [];
  for (const index of all) {
    if (index.primary || index.unique || index.included) continue;
    const covering = all.find(
      (other) =>
        other !== index &&
        other.schema === index.schema &&
        other.table === index.table &&
        other.method === index.method &&
        other.expressions === index.expressions &&
        other.predicate === index.predicate &&
        index.columns.every((c, n) => c !== null && other.columns[n] === c) &&
        (other.columns.length > index.columns.length || other.unique || other.primary || index.index > other.index),
    );
    if (!covering) continue;
    rows.push({
      table: index.table,
      index: index.index,
      columns: index.columns.join(", "),
      covered_by: covering.index,
      covering_columns: covering.columns.join(", "),
      size_bytes: index.size_bytes,
      drop: `DROP INDEX CONCURRENTLY ${index.name};`,
      flagged: true,
    });
  }
  return {
    available: true,
    description: "indexes whose columns start another index on the same table (same method and predicate): that one serves their queries",
    thresholds: { rule: "columns a prefix of another index's" },
    rows,
  };
}

/** Indexes left invalid (a failed CREATE INDEX CONCURRENTLY): written to on every change, never read. */
export async function invalidIndexes(): Promise<Result> {
  const rows = (await indexes())
    .filter((i) => !i.valid)
    .map((i) => ({
      table: i.table,
      index: i.index,
      size_bytes: i.size_bytes,
      // One being built right now is invalid until the build ends.
      building: i.building,
      fix: i.building ? "wait: it is being built" : `DROP INDEX CONCURRENTLY ${i.name}; then ${i.definition.replace(/^CREATE (UNIQUE )?INDEX/, "CREATE $1INDEX CONCURRENTLY")};`,
      flagged: !i.building,
    }));
  return { available: true, description: "invalid indexes: kept up to date on every write, never used by a query", thresholds: { valid: "false" }, rows };
}
