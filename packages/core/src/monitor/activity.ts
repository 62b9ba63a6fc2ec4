import { sql } from "kysely";
import { Database } from "../db/index.ts";
import { select, type Options, type Result } from "./report.ts";

/** The guide's targets: pool utilization under 80 %, alert over 90 %; connections under 50 % of max_connections, alert over 80 %. */
const POOL = { target: 0.8, alert: 0.9 };
const SERVER = { target: 0.5, alert: 0.8 };

const DEFAULT_THRESHOLD_S = 1;

/** Queries (and open transactions) running longer than the threshold, longest first, on every database of the server. */
export async function activity(options: Options): Promise<Result> {
  const threshold = options.threshold ?? DEFAULT_THRESHOLD_S;
  const rows = await select<Record<string, unknown>>(sql`
    select pid, datname as database, usename as user, application_name, state,
           round(extract(epoch from now() - query_start)::numeric, 3)::float8 as duration_s,
           wait_event_type, wait_event, query
    from pg_stat_activity
    where backend_type = 'client backend' and state <> 'idle' and pid <> pg_backend_pid() and datname = current_database()
      and query_start < now() - make_interval(secs => ${threshold})
    order by query_start`);
  return {
    available: true,
    description: `statements in this database running (or transactions idle in them) for ${threshold} s or more`,
    thresholds: { duration_s: threshold },
    rows: rows.map((r) => ({ ...r, flagged: true })),
  };
}

/** Who blocks whom: every session waiting on a lock, with the sessions holding it and both queries. */
export async function blocking(): Promise<Result> {
  const rows = await select<Record<string, unknown>>(sql`
    select blocked.pid as blocked_pid, blocked.application_name as blocked_application,
           round(extract(epoch from now() - blocked.query_start)::numeric, 3)::float8 as waiting_s,
           blocked.wait_event_type, blocked.wait_event, blocked.query as blocked_query,
           blocker.pid as blocking_pid, blocker.application_name as blocking_application, blocker.state as blocking_state,
           round(extract(epoch from now() - blocker.xact_start)::numeric, 3)::float8 as blocking_xact_s,
           blocker.query as blocking_query
    from pg_stat_activity blocked
    cross join lateral unnest(pg_blocking_pids(blocked.pid)) as b(pid)
    join pg_stat_activity blocker on blocker.pid = b.pid
    where blocked.datname = current_database()
    order by blocked.query_start, blocker.pid`);
  return {
    available: true,
    description: "sessions of this database waiting for a lock, each with a session that holds it",
    thresholds: { waiting_s: 0 },
    rows: rows.map((r) => ({ ...r, flagged: true })),
  };
}

/** Connections by state and application against max_connections, and this process's pool against the guide's targets. */
export async function connections(): Promise<Result> {
  const groups = await select<{ state: string | null; application_name: string; count: number; max_connections: number }>(sql`
    select state, application_name, count(*)::int as count, current_setting('max_connections')::int as max_connections
    from pg_stat_activity
    where backend_type = 'client backend' or pid = pg_backend_pid() -- PGlite's one session is a standalone backend
    group by 1, 2
    order by count desc, 1, 2`);
  const total = groups.reduce((n, g) => n + g.count, 0);
  const max = groups[0]?.max_connections ?? 0;
  const usage = max ? total / max : 0;
  const pool = Database.stats();
  const capacity = Database.client().capacity;
  const utilization = capacity ? pool.checked_out / capacity : null;
  return {
    available: true,
    description: "server connections by state and application; this process's pool",
    thresholds: { server_target: SERVER.target, server_alert: SERVER.alert, pool_target: POOL.target, pool_alert: POOL.alert },
    summary: {
      total,
      max_connections: max,
      usage: round(usage),
      server_status: status(usage, SERVER),
      pool: { ...pool, capacity, utilization: utilization === null ? null : round(utilization), status: utilization === null ? "per-request" : status(utilization, POOL) },
    },
    rows: groups.map(({ max_connections: _, ...g }) => ({ ...g, flagged: false })),
  };
}

function status(value: number, limits: { target: number; alert: number }): "ok" | "over target" | "alert" {
  return value > limits.alert ? "alert" : value >= limits.target ? "over target" : "ok";
}

const round = (n: number) => Math.round(n * 1000) / 1000;
