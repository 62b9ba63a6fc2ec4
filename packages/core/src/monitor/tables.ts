import { sql } from "kysely";
import { select, type Result, type Row } from "./report.ts";

const MB = 1024 * 1024;
/** Indexes outweighing their table's data is worth a look once a table is this big. */
const SIZES = { indexes_over_table_from_bytes: 10 * MB };
const CACHE_HIT_TARGET = 0.99;
/** A bloat estimate worth acting on: half the table wasted, and at least 1 MiB of it. */
const BLOAT = { ratio: 0.5, wasted_bytes: MB };
/** An integer id three quarters through its type's range: time to plan the move to bigint. */
const SEQUENCE_USED = 0.75;

/** The user's tables, for every query below. */
const USER_TABLE = sql`c.relkind in ('r', 'm', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'`;

/** Each table's size: data, indexes, TOAST, total; flagged where the indexes outweigh the data of a big table. */
export async function tableSizes(): Promise<Result> {
  const rows = await select<Row & { table_bytes: number; indexes_bytes: number; total_bytes: number }>(sql`
    select c.relname as table, greatest(c.reltuples, 0)::int8 as rows,
           pg_table_size(c.oid)::int8 - coalesce(pg_total_relation_size(c.reltoastrelid), 0)::int8 as table_bytes,
           pg_indexes_size(c.oid)::int8 as indexes_bytes,
           coalesce(pg_total_relation_size(c.reltoastrelid), 0)::int8 as toast_bytes,
           pg_total_relation_size(c.oid)::int8 as total_bytes
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where ${USER_TABLE}
    order by total_bytes desc, c.relname`);
  return {
    available: true,
    description: "each table's data, indexes, TOAST and total size, largest first",
    thresholds: SIZES,
    rows: rows.map((r) => ({ ...r, flagged: r.total_bytes >= SIZES.indexes_over_table_from_bytes && r.indexes_bytes > r.table_bytes })),
  };
}

/** Buffer cache hit rates of tables and of indexes since the statistics were reset, against 99 %. */
export async function cacheHit(): Promise<Result> {
  const rows = await select<{ kind: string; hit: number; read: number }>(sql`
    select 'tables' as kind, coalesce(sum(heap_blks_hit), 0)::int8 as hit, coalesce(sum(heap_blks_read), 0)::int8 as read from pg_statio_user_tables
    union all
    select 'indexes', coalesce(sum(idx_blks_hit), 0)::int8, coalesce(sum(idx_blks_read), 0)::int8 from pg_statio_user_indexes`);
  return {
    available: true,
    description: "share of table and index block reads served from shared buffers",
    thresholds: { hit_rate: CACHE_HIT_TARGET },
    rows: rows.map((r) => {
      const rate = r.hit + r.read ? Math.round((r.hit / (r.hit + r.read)) * 10_000) / 10_000 : null;
      return { ...r, hit_rate: rate, flagged: rate !== null && rate < CACHE_HIT_TARGET };
    }),
  };
}

/**
 * Table bloat, estimated as PgHero and check_postgres do: the pages the live
 * rows need (their average width from pg_stats, plus tuple header and line
 * pointer, at the table's fillfactor) against the pages the table holds.
 * Tables never analyzed have no widths and are left out.
 */
export async function bloat(): Promise<Result> {
  const rows = await select<Row & { wasted_bytes: number; bloat_ratio: number }>(sql`
    with widths as (
      select schemaname, tablename, sum((1 - null_frac) * avg_width) as width
      from pg_stats group by schemaname, tablename
    ), est as (
      select c.relname as table, c.relpages::int8 as pages, greatest(c.reltuples, 0)::int8 as rows,
             current_setting('block_size')::int as block_size,
             ceil(greatest(c.reltuples, 0) / greatest(floor(
               (current_setting('block_size')::int - 24)
               * coalesce((select option_value from pg_options_to_table(c.reloptions) where option_name = 'fillfactor'), '100')::int / 100
               / (24 + 4 + ceil(w.width / 8) * 8)), 1))::int8 as expected_pages
      from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      join widths w on w.schemaname = n.nspname and w.tablename = c.relname
      where c.relkind = 'r' and ${USER_TABLE}
    )
    select "table", rows, pages * block_size as table_bytes, expected_pages * block_size as expected_bytes,
           greatest(pages - expected_pages, 0) * block_size as wasted_bytes,
           round(greatest(pages - expected_pages, 0)::numeric / nullif(pages, 0), 3)::float8 as bloat_ratio
    from est
    order by wasted_bytes desc, "table"`);
  return {
    available: true,
    description: "estimated table bloat: space the live rows do not need (from planner statistics; ANALYZE first)",
    thresholds: BLOAT,
    rows: rows.map((r) => ({ ...r, bloat_ratio: r.bloat_ratio ?? 0, flagged: (r.bloat_ratio ?? 0) >= BLOAT.ratio && r.wasted_bytes >= BLOAT.wasted_bytes })),
  };
}

/**
 * Dead tuples and the last (auto)vacuum and (auto)analyze of each table; a
 * table is overdue once it is past the point where autovacuum should have
 * vacuumed or analyzed it (its own reloptions, else the server's settings).
 */
export async function vacuum(): Promise<Result> {
  const setting = (name: string) =>
    sql`coalesce((select option_value from pg_options_to_table(c.reloptions) where option_name = ${name}), current_setting(${name}))::float8`;
  const rows = await select<Row & { vacuum_overdue: boolean; analyze_overdue: boolean }>(sql`
    select s.relname as table, s.n_live_tup::int8 as live_tuples, s.n_dead_tup::int8 as dead_tuples,
           s.n_mod_since_analyze::int8 as modified_since_analyze,
           s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze,
           coalesce((select option_value from pg_options_to_table(c.reloptions) where option_name = 'autovacuum_enabled'), 'on') not in ('off', 'false', '0') as autovacuum_enabled,
           s.n_dead_tup > ${setting("autovacuum_vacuum_threshold")} + ${setting("autovacuum_vacuum_scale_factor")} * greatest(c.reltuples, 0) as vacuum_overdue,
           s.n_mod_since_analyze > ${setting("autovacuum_analyze_threshold")} + ${setting("autovacuum_analyze_scale_factor")} * greatest(c.reltuples, 0) as analyze_overdue
    from pg_stat_user_tables s
    join pg_class c on c.oid = s.relid
    order by s.n_dead_tup desc, s.relname`);
  return {
    available: true,
    description: "dead tuples, last vacuum and analyze per table; overdue past autovacuum's trigger (threshold + scale factor × rows)",
    thresholds: { vacuum: "autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × rows", analyze: "autovacuum_analyze_threshold + autovacuum_analyze_scale_factor × rows" },
    rows: rows.map((r) => ({ ...r, flagged: r.vacuum_overdue || r.analyze_overdue })),
  };
}

/** Sequences behind integer columns and how much of the column type's range they have used. */
export async function sequenceSpace(): Promise<Result> {
  const rows = await select<Row & { used: number }>(sql`
    with seqs as (
      select s.sequencename as sequence, t.relname as table, a.attname as column, format_type(a.atttypid, null) as column_type,
             coalesce(s.last_value, s.start_value)::float8 as last_value,
             least(s.max_value::float8, case a.atttypid when 'int2'::regtype then 32767 when 'int4'::regtype then 2147483647 else 9223372036854775807 end) as max_value
      from pg_sequences s
      join pg_namespace sn on sn.nspname = s.schemaname
      join pg_class seq on seq.relname = s.sequencename and seq.relnamespace = sn.oid
      left join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = seq.oid and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')
      left join pg_class t on t.oid = d.refobjid
      left join pg_attribute a on a.attrelid = d.refobjid and a.attnum = d.refobjsubid
    )
    select *, round((last_value / max_value)::numeric, 4)::float8 as used from seqs order by used desc, sequence`);
  return {
    available: true,
    description: "how far each sequence has gone through the range of the column it fills",
    thresholds: { used: SEQUENCE_USED },
    rows: rows.map((r) => ({ ...r, flagged: r.used >= SEQUENCE_USED })),
  };
}
