import { sql } from "kysely";
import { extension, select, type Options, type Result, type Row } from "./report.ts";

const TOP = 20;
const DEFAULT_MEAN_S = 1;
const CACHE_HIT_TARGET = 0.99;

const DESCRIPTION = "statements of this database from pg_stat_statements, by total and by mean time";

/** How to turn pg_stat_statements on, for each state it can be in. */
const ENABLE = {
  missing: [
    "install the extension on the server (Debian/Ubuntu: it comes with postgresql-contrib; PGlite: the pg_stat_statements extension)",
    "postgresql.conf: shared_preload_libraries = 'pg_stat_statements', then restart the server",
    "CREATE EXTENSION pg_stat_statements;",
  ],
  installable: ["CREATE EXTENSION pg_stat_statements; (Neon preloads the library: this is all it takes there)"],
  unloaded: [
    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'; (keep any libraries already listed)",
    "restart the server (on a laptop: pg_ctlcluster 15 main restart, or brew services restart postgresql)",
  ],
};

/** Whether pg_stat_statements can be read here, and if not, why and how to fix it. */
export async function statementsState(): Promise<{ reason: string; enable: string[] } | null> {
  const state = await extension("pg_stat_statements");
  if (state === "missing") return { reason: "the pg_stat_statements extension is not installed on this server", enable: ENABLE.missing };
  if (state === "installable") return { reason: "the pg_stat_statements extension is not created in this database", enable: ENABLE.installable };
  try {
    await select(sql`select 1 from pg_stat_statements limit 1`);
    return null;
  } catch (err) {
    // 55000: created, but the server did not preload the library.
    if ((err as { code?: string }).code !== "55000") throw err;
    return { reason: "pg_stat_statements is created but not loaded: it must be in shared_preload_libraries", enable: ENABLE.unloaded };
  }
}

/** The top statements by total time and by mean time: calls, rows, cache hit; flagged when slow on average or served from disk. */
export async function slowQueries(options: Options): Promise<Result> {
  const missing = await statementsState();
  if (missing) return { available: false, description: DESCRIPTION, ...missing };
  const meanS = options.threshold ?? DEFAULT_MEAN_S;
  const rows = await select<Row & { by_total: number; by_mean: number; mean_ms: number; cache_hit: number | null }>(sql`
    select * from (
      select queryid::text as queryid, calls::float8 as calls, rows::float8 as rows,
             round(total_exec_time::numeric, 1)::float8 as total_ms, round(mean_exec_time::numeric, 2)::float8 as mean_ms,
             round((100 * total_exec_time / nullif(sum(total_exec_time) over (), 0))::numeric, 1)::float8 as percent_of_total,
             round((shared_blks_hit::numeric / nullif(shared_blks_hit + shared_blks_read, 0)), 4)::float8 as cache_hit,
             query,
             row_number() over (order by total_exec_time desc) as by_total,
             row_number() over (order by mean_exec_time desc) as by_mean
      from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
    ) s
    where by_total <= ${TOP} or by_mean <= ${TOP}`);
  const flag = (r: (typeof rows)[number]): Row => {
    const { by_total: _, by_mean: __, ...rest } = r;
    return { ...rest, flagged: r.mean_ms >= meanS * 1000 || (r.cache_hit !== null && r.cache_hit < CACHE_HIT_TARGET) };
  };
  const ranked = (key: "by_total" | "by_mean") => rows.filter((r) => r[key] <= TOP).sort((a, b) => a[key] - b[key]).map(flag);
  return {
    available: true,
    description: DESCRIPTION,
    thresholds: { mean_s: meanS, cache_hit: CACHE_HIT_TARGET },
    rows: ranked("by_total"),
    by_mean: ranked("by_mean"),
  };
}
