import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import pg from "pg";
import { Database } from "@shop/core/db";
import { call, expectInvalid, useApiDatabase } from "../support/api.ts";
import { runScript } from "../support/cli.ts";
import { createTestDatabase, targets, type TestDatabase } from "../support/db.ts";
import * as fx from "../support/fixtures.ts";
import { captureLogs } from "../support/logs.ts";

captureLogs();

async function auditRows(userId: number, action: string) {
  return Database.use((db) =>
    db.selectFrom("audit_log").select(["success", "details", "request_id"]).where("user_id", "=", userId).where("action", "=", action).orderBy("id").execute(),
  );
}

describe.each(targets())("GET /api/admin/db/{report} on %s", (target) => {
  useApiDatabase(target);

  it("answers a non-admin 403 and audits the refusal", async () => {
    const u = await fx.user();
    const res = await call("GET", "/api/admin/db/activity", { token: u.token });
    expect(res.status).toBe(403);
    expect(await auditRows(u.id, "admin.access_denied")).toEqual([expect.objectContaining({ success: false, request_id: res.headers["x-request-id"] })]);
    expect(await auditRows(u.id, "admin.db_report")).toEqual([]);
  });

  it("answers a report with its thresholds and rows, and audits which one was read", async () => {
    const admin = await fx.user({ admin: true });
    const res = await call("GET", "/api/admin/db/table-sizes", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ report: "table-sizes", available: true, thresholds: { indexes_over_table_from_bytes: 10485760 } });
    expect(res.body.rows).toContainEqual(expect.objectContaining({ table: "bid", flagged: false, total_bytes: expect.any(Number) }));
    expect(await auditRows(admin.id, "admin.db_report")).toEqual([
      { success: true, details: JSON.stringify({ report: "table-sizes" }), request_id: res.headers["x-request-id"] },
    ]);
  });

  it("takes the activity threshold in seconds, and refuses one that is not a positive number", async () => {
    const admin = await fx.user({ admin: true });
    const res = await call("GET", "/api/admin/db/activity?threshold=0.5", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ report: "activity", thresholds: { duration_s: 0.5 } });
    // A shared server may be running anyone's long queries: each listed is past the threshold.
    for (const row of res.body.rows) expect(row).toMatchObject({ duration_s: expect.any(Number), flagged: true });
    expect(res.body.rows.every((r: { duration_s: number }) => r.duration_s >= 0.5)).toBe(true);
    expectInvalid(await call("GET", "/api/admin/db/activity?threshold=soon", { token: admin.token }), "query.threshold");
    expectInvalid(await call("GET", "/api/admin/db/activity?threshold=0", { token: admin.token }), "query.threshold");
  });

  it("answers 200 with how to enable pg_stat_statements where it is missing, never a 500", async () => {
    const admin = await fx.user({ admin: true });
    const res = await call("GET", "/api/admin/db/slow-queries", { token: admin.token });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      report: "slow-queries",
      available: false,
      description: expect.any(String),
      reason: "the pg_stat_statements extension is not created in this database",
      enable: [expect.stringContaining("CREATE EXTENSION pg_stat_statements;")],
    });
  });

  it("answers 400 naming the reports there are for an unknown one", async () => {
    const admin = await fx.user({ admin: true });
    const res = await call("GET", "/api/admin/db/everything", { token: admin.token });
    expectInvalid(res, "path.report");
    expect(res.body.error.details[0].message).toBe(
      "must be one of the reports: activity, blocking, connections, slow-queries, index-usage, unused-indexes, " +
        "duplicate-indexes, invalid-indexes, missing-indexes, table-sizes, cache-hit, bloat, vacuum, sequence-space",
    );
  });
});

const dbReport = (env: Record<string, string>, ...args: string[]) => runScript("packages/functions/src/local/db-report.ts", env, args);

// Each run boots a PGlite of its own in a child process: slow on a busy machine.
describe("npm run db:report", { timeout: 180_000 }, () => {
  const memory = { DATABASE_URL: "memory:" };
  const dir = mkdtempSync(join(tmpdir(), "shop-db-report-"));
  const queries = join(dir, "queries.sql");
  writeFileSync(queries, "-- the statements to advise on\nselect * from report_probe where email = $1;\nselect * from report_probe\n  where id = 7;\n");

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints a report as a table, flagged rows marked, or as the API's JSON with --json", async () => {
    const text = await dbReport(memory, "cache-hit");
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^cache-hit: share of table and index block reads served from shared buffers\nthresholds: hit_rate 0\.99\n\n +kind +hit +read +hit_rate\n/);
    expect(text.stdout).toMatch(/\n\d of 2 flagged\n$/);
    const json = await dbReport(memory, "sequence-space", "--json");
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ report: "sequence-space", available: true, description: expect.any(String), thresholds: { used: 0.75 }, rows: [] });
  });

  it("says why a report cannot run and how to enable it", async () => {
    const run = await dbReport(memory, "missing-indexes", "--queries", queries);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain("not available: the hypopg extension is not installed on this server\nto enable it:\n  - install hypopg on the server");
  });

  it("prints the usage and exits 2 for an unknown report, none, or a bad threshold", async () => {
    const usage = expect.stringContaining("usage: npm run db:report -- <report> [--json] [--threshold S] [--queries file.sql]\nreports: activity, blocking,");
    expect(await dbReport(memory, "everything")).toEqual({ status: 2, stdout: "", stderr: expect.stringMatching(/^unknown report: everything\n/) });
    expect(await dbReport(memory)).toEqual({ status: 2, stdout: "", stderr: usage });
    expect(await dbReport(memory, "activity", "--threshold", "soon")).toEqual({ status: 2, stdout: "", stderr: expect.stringMatching(/^--threshold must be/) });
  });

  describe.runIf(inject("serverUrl"))("on the server", () => {
    let db: TestDatabase;
    let hypopg = false;

    beforeAll(async () => {
      db = await createTestDatabase("postgres");
      const client = new pg.Client({ connectionString: db.url! });
      await client.connect();
      try {
        await client.query(`create table report_probe (id int primary key, email text not null);
          insert into report_probe select g, 'u' || g || '@example.com' from generate_series(1, 20000) g; analyze report_probe`);
        hypopg = (await client.query("select 1 from pg_available_extensions where name = 'hypopg'")).rowCount === 1;
        if (hypopg) await client.query("create extension hypopg");
      } finally {
        await client.end();
      }
    });

    afterAll(() => db?.drop());

    it("advises on the statements of a file: the index one needs, none for the one its key serves", async () => {
      const run = await dbReport({ DATABASE_URL: db.url! }, "missing-indexes", "--queries", queries, "--json");
      expect(run.status, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout);
      if (!hypopg) return expect(result).toMatchObject({ available: false, reason: "the hypopg extension is not installed on this server" });
      expect(result.summary).toEqual({ source: "the statements given", statements: 2, skipped: [] });
      expect(result.rows).toEqual([
        expect.objectContaining({ create: "CREATE INDEX CONCURRENTLY ix_report_probe_email ON public.report_probe USING btree (email);", example: "select * from report_probe where email = $1" }),
      ]);
    });
  });
});
