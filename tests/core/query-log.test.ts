import { spawnSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { formatQueryLine, type Executor } from "@shop/core/db";
import { createTestDatabase, stopNeonBridge, targets } from "../support/db.ts";

afterAll(stopNeonBridge);

const LINE = /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] (SLOW QUERY|QUERY|QUERY ERROR) \((\d+\.\d{3})s\): (.*)$/;

describe("query log line", () => {
  it("matches the reference format exactly", () => {
    expect(
      formatQueryLine("SLOW QUERY", 2345, "SELECT *\n   FROM row\n  WHERE status = 'sourcing'", new Date("2026-02-10T12:00:00Z")),
    ).toBe("[2026-02-10 12:00:00] SLOW QUERY (2.345s): SELECT * FROM row WHERE status = 'sourcing'");
  });
});

describe.each(targets())("query logging on %s", (target) => {
  async function withLoggedDb(
    settings: { echo?: boolean; slowQueryLogging?: boolean; slowQueryThresholdMs?: number },
    fn: (run: <T>(q: (db: Executor) => Promise<T>) => Promise<T>) => Promise<void>,
  ): Promise<string[]> {
    const lines: string[] = [];
    const db = await createTestDatabase(target, { settings, extras: { writeLog: (l) => lines.push(l) } });
    try {
      await fn((q) => db.client.use(q));
    } finally {
      await db.drop();
    }
    return lines;
  }

  it("logs a query slower than DB_SLOW_QUERY_THRESHOLD as one SLOW QUERY line", async () => {
    const lines = await withLoggedDb({ slowQueryLogging: true, slowQueryThresholdMs: 200 }, async (run) => {
      await run((db) => sql`select pg_sleep(${0.3})`.execute(db));
    });
    const slow = lines.map((l) => LINE.exec(l)).filter((m) => m?.[3]?.startsWith("select pg_sleep"));
    expect(slow).toHaveLength(1);
    expect(slow[0]![1]).toBe("SLOW QUERY");
    expect(Number(slow[0]![2])).toBeGreaterThanOrEqual(0.3);
    expect(slow[0]![3]).toBe("select pg_sleep($1)");
  });

  it("logs nothing below the threshold", async () => {
    const lines = await withLoggedDb({ slowQueryLogging: true, slowQueryThresholdMs: 3_600_000 }, async (run) => {
      await run((db) => sql`select pg_sleep(${0.05})`.execute(db));
      await run((db) => db.selectFrom("user").select("id").execute());
    });
    expect(lines).toEqual([]);
  });

  it("echoes every query with DB_ECHO, failures as QUERY ERROR, and never the parameter values", async () => {
    const lines = await withLoggedDb({ echo: true }, async (run) => {
      await run((db) => db.selectFrom("user").select("id").where("email", "=", "secret@example.com").execute());
      await expect(run((db) => sql`select * from no_such_table`.execute(db))).rejects.toThrow();
    });
    expect(lines).toHaveLength(2);
    expect(LINE.exec(lines[0]!)?.slice(1, 2)).toEqual(["QUERY"]);
    expect(lines[0]).toContain('select "id" from "user" where "email" = $1');
    expect(lines[1]).toMatch(/QUERY ERROR \(\d+\.\d{3}s\): select \* from no_such_table$/);
    expect(lines.join("\n")).not.toContain("secret@example.com");
  });
});

describe("slow query logging from the environment", () => {
  it("writes SLOW QUERY lines to stderr when DB_ENABLE_QUERY_LOGGING is set", () => {
    const script = `
      const { Database } = await import("@shop/core/db");
      const { sql } = await import("kysely");
      await Database.use((db) => sql\`select 42 as answer\`.execute(db));
      await Database.close();
    `;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      env: {
        ...process.env,
        DATABASE_URL: "memory:",
        DB_ENABLE_QUERY_LOGGING: "true",
        DB_SLOW_QUERY_THRESHOLD: "0",
      },
      encoding: "utf8",
    });
    expect(child.status).toBe(0);
    const lines = child.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] SLOW QUERY \(\d+\.\d{3}s\): select 42 as answer$/);
  });
});
