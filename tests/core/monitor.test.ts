import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sql } from "kysely";
import pg from "pg";
import { Database } from "@shop/core/db";
import * as Monitor from "@shop/core/monitor";
import { createTestDatabase, targets, type TargetName, type TestDatabase } from "../support/db.ts";

/**
 * Every report on a database whose state is made on purpose: an unused index,
 * a duplicate, an invalid one, a bloated table with autovacuum off, an
 * integer id near its end, a long query and a lock wait (the server: PGlite
 * is one session), and statements for the advisor with one index it must
 * suggest and two it must not. Where pg_stat_statements or hypopg cannot be
 * had, the `available: false` answer is what is checked.
 */

/** The state the reports look at; one statement at a time (PGlite prepares each). */
const STATE = [
  `create table monitor_probe (
     id int generated always as identity primary key, email text not null, code text not null,
     parity boolean not null, created_at timestamptz not null default now(), notes text)`,
  `insert into monitor_probe (email, code, parity, created_at)
     select 'user' || g || '@example.com', 'c' || g, g % 2 = 0, now() - make_interval(secs => g) from generate_series(1, 20000) g`,
  // Big enough to be stored out of line (random text does not compress).
  `update monitor_probe set notes = (select string_agg(md5(random()::text || g), '') from generate_series(1, 400) g) where id = 1`,
  "create unique index ux_monitor_probe_code on monitor_probe (code)",
  "create index ix_monitor_probe_parity on monitor_probe (parity)",
  "create index ix_monitor_probe_parity_created on monitor_probe (parity, created_at)",
  "create index ix_monitor_probe_created on monitor_probe (created_at)",
  "analyze monitor_probe",
  "create table monitor_bloat (id int primary key, pad text not null) with (autovacuum_enabled = false)",
  "insert into monitor_bloat select g, repeat('x', 200) from generate_series(1, 20000) g",
  "delete from monitor_bloat where id % 10 <> 0",
  "analyze monitor_bloat",
  "create table monitor_seq (id int generated always as identity primary key, n int)",
  "alter table monitor_seq alter column id restart with 2000000000",
  "insert into monitor_seq (n) values (1)",
];

const exec = (text: string) => Database.use((db) => sql.raw(text).execute(db));

type Available = Extract<Monitor.Result, { available: true }>;

async function report(name: string, options: Monitor.Options = {}): Promise<Available> {
  const result = await Monitor.run(name, options);
  if (!result.available) throw new Error(`${name} is not available: ${result.reason}`);
  return result;
}

const byName = (rows: Monitor.Row[], key: string, value: unknown) => rows.find((r) => r[key] === value);

// Statistics reach the views when the writing session flushes them: within 10 s of going idle on a server.

describe.each(targets().filter((t) => t !== "neon"))("the monitoring reports on %s", (target: TargetName) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase(target);
    Database.setDefault(db.client);
    for (const statement of STATE) await exec(statement);
    // One real scan of ix_monitor_probe_created, so that it is not unused.
    await exec("set enable_seqscan = off");
    await exec("select id from monitor_probe where created_at = now()");
    await exec("reset enable_seqscan");
  }, 60_000);

  afterAll(async () => {
    Database.setDefault(null);
    await db?.drop();
  });

  it("answers 404 with the list of reports for an unknown one", async () => {
    await expect(Monitor.run("nope")).rejects.toMatchObject({ kind: "not_found", message: expect.stringContaining("missing-indexes") });
  });

  it("lists indexes never scanned, leaving out unique and constraint ones", async () => {
    await vi.waitFor(async () => {
      const { rows } = await report("unused-indexes");
      const names = rows.map((r) => r.index);
      expect(names).toContain("ix_monitor_probe_parity");
      expect(names).not.toContain("ix_monitor_probe_created");
      expect(names).not.toContain("ux_monitor_probe_code");
      expect(names).not.toContain("monitor_probe_pkey");
      expect(byName(rows, "index", "ix_monitor_probe_parity")).toMatchObject({ flagged: true, drop: "DROP INDEX CONCURRENTLY public.ix_monitor_probe_parity;" });
    }, { timeout: 30_000, interval: 250 });
  });

  it("finds an index whose columns start another's, and only that one", async () => {
    const { rows } = await report("duplicate-indexes");
    const mine = rows.filter((r) => String(r.index).startsWith("ix_monitor_") || String(r.index).startsWith("ux_monitor_"));
    expect(mine).toEqual([
      expect.objectContaining({ index: "ix_monitor_probe_parity", covered_by: "ix_monitor_probe_parity_created", columns: "parity", flagged: true }),
    ]);
  });

  it("reports scans, tuples read and size of every index", async () => {
    await vi.waitFor(async () => {
      const { rows, thresholds } = await report("index-usage");
      expect(thresholds).toEqual({ min_table_rows: 10_000, index_scan_share: 0.95 });
      const created = byName(rows, "index", "ix_monitor_probe_created")!;
      expect(created).toMatchObject({ table: "monitor_probe", idx_scan: 1, table_rows: 20_000 });
      expect(created.size_bytes).toBeGreaterThan(0);
    }, { timeout: 30_000, interval: 250 });
  });

  it("lists an index a failed build left invalid, with the way to rebuild it", async () => {
    // A unique index over duplicate values fails; built concurrently, it stays behind, invalid.
    await expect(exec("create unique index concurrently ux_monitor_probe_parity on monitor_probe (parity)")).rejects.toThrow();
    const { rows } = await report("invalid-indexes");
    expect(rows).toEqual([
      expect.objectContaining({
        index: "ux_monitor_probe_parity",
        building: false,
        flagged: true,
        fix: "DROP INDEX CONCURRENTLY public.ux_monitor_probe_parity; then CREATE UNIQUE INDEX CONCURRENTLY ux_monitor_probe_parity ON public.monitor_probe USING btree (parity);",
      }),
    ]);
    await exec("drop index ux_monitor_probe_parity");
    expect((await report("invalid-indexes")).rows).toEqual([]);
  });

  it("sizes each table: data, indexes, TOAST, total", async () => {
    const { rows } = await report("table-sizes");
    const probe = byName(rows, "table", "monitor_probe")!;
    expect(probe.toast_bytes).toBeGreaterThan(0);
    expect(probe.indexes_bytes).toBeGreaterThan(0);
    expect(probe.total_bytes).toBe(Number(probe.table_bytes) + Number(probe.indexes_bytes) + Number(probe.toast_bytes));
    expect(rows.map((r) => r.total_bytes)).toEqual(rows.map((r) => r.total_bytes).sort((a, b) => Number(b) - Number(a)));
  });

  it("rates cache hits of tables and indexes against 99 %", async () => {
    const { rows, thresholds } = await report("cache-hit");
    expect(thresholds).toEqual({ hit_rate: 0.99 });
    expect(rows.map((r) => r.kind)).toEqual(["tables", "indexes"]);
    for (const r of rows) {
      const hit = Number(r.hit);
      const read = Number(r.read);
      expect(hit).toBeGreaterThan(0);
      expect(r.hit_rate).toBeCloseTo(hit / (hit + read), 3);
      expect(r.flagged).toBe(Number(r.hit_rate) < 0.99);
    }
  });

  it("estimates the bloat a mass delete leaves, and none in a table that only grew", async () => {
    // No VACUUM FULL to undo it here: on a shared server another session's old snapshot would keep the dead rows.
    const { rows } = await report("bloat");
    const bloated = byName(rows, "table", "monitor_bloat")!;
    expect(bloated.bloat_ratio).toBeGreaterThan(0.8);
    expect(bloated.wasted_bytes).toBeGreaterThan(3 * 1024 * 1024);
    expect(bloated.flagged).toBe(true);
    expect(byName(rows, "table", "monitor_probe")!.flagged).toBe(false);
  });

  it("flags a table past autovacuum's trigger that autovacuum may not touch", async () => {
    await vi.waitFor(async () => {
      const row = byName((await report("vacuum")).rows, "table", "monitor_bloat")!;
      expect(row).toMatchObject({ autovacuum_enabled: false, vacuum_overdue: true, flagged: true });
      expect(row.dead_tuples).toBeGreaterThanOrEqual(18_000);
    }, { timeout: 30_000, interval: 250 });
  });

  it("flags an integer id near the end of its range", async () => {
    const { rows } = await report("sequence-space");
    expect(byName(rows, "table", "monitor_seq")).toMatchObject({ column: "id", column_type: "integer", max_value: 2147483647, flagged: true });
    expect(Number(byName(rows, "table", "monitor_seq")!.used)).toBeCloseTo(2000000000 / 2147483647, 3);
    expect(byName(rows, "table", "monitor_probe")).toMatchObject({ last_value: 20000, flagged: false });
  });

  it("counts connections by state and application, and the pool against its targets", async () => {
    const { summary, thresholds, rows } = await report("connections");
    expect(thresholds).toEqual({ server_target: 0.5, server_alert: 0.8, pool_target: 0.8, pool_alert: 0.9 });
    expect(summary!.total).toBe(rows.reduce((n, r) => n + Number(r.count), 0));
    const usage = Number(summary!.total) / Number(summary!.max_connections);
    expect(summary!.usage).toBeCloseTo(usage, 2);
    // A shared server may be busy with anyone's connections: the status follows the usage, whatever it is.
    expect(summary!.server_status).toBe(usage > 0.8 ? "alert" : usage >= 0.5 ? "over target" : "ok");
    const pool = summary!.pool as Record<string, unknown>;
    expect(pool).toMatchObject({ pool_class: "QueuePool", capacity: target === "pglite" ? 1 : 10, status: "ok" });
    expect(pool.utilization).toBe(Number(pool.checked_out) / Number(pool.capacity));
  });

  it("reads pg_stat_statements when it can, and says how to enable it when it cannot", async () => {
    expect(await Monitor.run("slow-queries")).toMatchObject({
      available: false,
      reason: "the pg_stat_statements extension is not created in this database",
      enable: [expect.stringContaining("CREATE EXTENSION pg_stat_statements")],
    });
    await exec("create extension pg_stat_statements");
    const [{ preloaded }] = (await exec("select current_setting('shared_preload_libraries') ~ 'pg_stat_statements' as preloaded")).rows as [{ preloaded: boolean }];
    if (target !== "pglite" && !preloaded) {
      expect(await Monitor.run("slow-queries")).toMatchObject({ available: false, enable: [expect.stringContaining("shared_preload_libraries"), expect.any(String)] });
      return;
    }
    for (let i = 0; i < 3; i++) await exec(`select count(*) from monitor_probe where email like '%${i}7%'`);
    const result = await report("slow-queries", { threshold: 0.000001 });
    expect(result.thresholds).toEqual({ mean_s: 0.000001, cache_hit: 0.99 });
    const mine = result.rows.find((r) => String(r.query).includes("from monitor_probe where email like"));
    expect(mine).toMatchObject({ calls: 3, rows: 3, flagged: true });
    expect(result.by_mean!.map((r) => r.mean_ms)).toEqual(result.by_mean!.map((r) => r.mean_ms).sort((a, b) => Number(b) - Number(a)));
  });

  it("advises the index a statement needs, and none where one exists or would not halve the cost", async () => {
    const installable = ((await exec("select 1 from pg_available_extensions where name = 'hypopg'")).rows.length) > 0;
    const queries = [
      "select * from monitor_probe where email = $1",
      "select * from monitor_probe where code = $1",
      "select id from monitor_probe where parity = $1 and notes is null",
      // As pg_stat_statements writes `interval '1 minute'`.
      "select id from monitor_probe where code = $1 and created_at > now() - interval $2 order by id limit $3 + $4",
    ];
    if (!installable) {
      expect(await Monitor.run("missing-indexes", { queries })).toMatchObject({
        available: false,
        reason: "the hypopg extension is not installed on this server",
        enable: [expect.stringContaining("hypopg"), "CREATE EXTENSION hypopg;"],
      });
      return;
    }
    expect(await Monitor.run("missing-indexes", { queries })).toMatchObject({ available: false, enable: [expect.stringContaining("CREATE EXTENSION hypopg")] });
    await exec("create extension hypopg");
    const { rows, summary } = await report("missing-indexes", { queries });
    expect(summary).toMatchObject({ source: "the statements given", statements: 4, skipped: [] });
    expect(rows).toEqual([
      expect.objectContaining({
        table: "monitor_probe",
        columns: "email",
        create: "CREATE INDEX CONCURRENTLY ix_monitor_probe_email ON public.monitor_probe USING btree (email);",
        statements: 1,
        example: queries[0],
        flagged: true,
      }),
    ]);
    expect(Number(rows[0]!.best_saving)).toBeGreaterThanOrEqual(0.5);
    if ((await Monitor.run("slow-queries")).available) {
      // Without a file, the advisor takes pg_stat_statements' top statements.
      for (const email of ["user1@example.com", "user2@example.com", "user3@example.com"]) {
        await exec(`select * from monitor_probe where email = '${email}'`);
      }
      const top = await report("missing-indexes");
      // Statements whose parameters cannot be typed alone (generate_series($2, $3)) are skipped, with the reason.
      expect(top.summary).toMatchObject({ source: "pg_stat_statements, top 20 by total time" });
      expect(top.rows).toContainEqual(expect.objectContaining({ create: rows[0]!.create, example: "select * from monitor_probe where email = $1" }));
    }
    // Nothing hypothetical is left behind, and nothing real was built.
    expect((await exec("select * from hypopg_list_indexes")).rows).toEqual([]);
    expect((await exec("select 1 from pg_indexes where indexname = 'ix_monitor_probe_email'")).rows).toEqual([]);
  });
});

describe.each(targets().filter((t) => t === "postgres"))("reports of live sessions on %s", (target: TargetName) => {
  let db: TestDatabase;
  const others: pg.Client[] = [];

  async function session(name: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: db.url!, application_name: name });
    await client.connect();
    others.push(client);
    return client;
  }

  beforeAll(async () => {
    db = await createTestDatabase(target);
    Database.setDefault(db.client);
    await exec("create table monitor_lock (id int primary key, n int)");
    await exec("insert into monitor_lock values (1, 0)");
  });

  afterAll(async () => {
    for (const c of others) await c.end().catch(() => {});
    Database.setDefault(null);
    await db?.drop();
  });

  it("lists a query running past the threshold, with its duration, state and text", async () => {
    const sleeper = await session("monitor-sleeper");
    const pid = (await sleeper.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
    const sleeping = sleeper.query("select pg_sleep(60) /* monitor */").catch(() => {});
    await vi.waitFor(async () => {
      const { rows, thresholds } = await report("activity", { threshold: 0.2 });
      expect(thresholds).toEqual({ duration_s: 0.2 });
      const mine = byName(rows, "pid", pid);
      expect(mine).toMatchObject({ state: "active", application_name: "monitor-sleeper", wait_event: "PgSleep", query: "select pg_sleep(60) /* monitor */", flagged: true });
      expect(Number(mine!.duration_s)).toBeGreaterThanOrEqual(0.2);
    }, { timeout: 15_000, interval: 100 });
    const { rows } = await report("connections");
    expect(rows).toContainEqual(expect.objectContaining({ state: "active", application_name: "monitor-sleeper", count: 1 }));
    await exec(`select pg_cancel_backend(${pid})`);
    await sleeping;
  });

  it("shows who blocks whom, with both queries", async () => {
    const holder = await session("monitor-holder");
    const waiter = await session("monitor-waiter");
    await holder.query("begin");
    await holder.query("update monitor_lock set n = n + 1 where id = 1");
    const holderPid = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
    const waiterPid = (await waiter.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
    const waiting = waiter.query("update monitor_lock set n = n + 10 where id = 1");
    await vi.waitFor(async () => {
      const { rows } = await report("blocking");
      expect(rows).toContainEqual(
        expect.objectContaining({
          blocked_pid: waiterPid,
          blocked_query: "update monitor_lock set n = n + 10 where id = 1",
          wait_event_type: "Lock",
          blocking_pid: holderPid,
          blocking_state: "idle in transaction",
          blocking_query: "select pg_backend_pid() as pid",
          flagged: true,
        }),
      );
    }, { timeout: 15_000, interval: 100 });
    await holder.query("rollback");
    await waiting;
    expect((await report("blocking")).rows.filter((r) => r.blocked_pid === waiterPid)).toEqual([]);
  });
});
