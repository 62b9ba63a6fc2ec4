import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { migratorHandler } from "@shop/migrations/handler";
import { catalog, migrations } from "@shop/migrations/migrations/index";
import { migrationStatus } from "@shop/migrations/runner";
import { createTestDatabase, stopNeonBridge, targets } from "../support/db.ts";
import { captureLogs } from "../support/logs.ts";

afterAll(stopNeonBridge);
const logs = captureLogs();

/** A Lambda context with the given time left. */
const context = (ms: number) => ({ getRemainingTimeInMillis: () => ms });

describe.each(targets())("migrator Lambda handler on %s", (target) => {
  it("applies every migration, verifies the catalog and reports what it did", async () => {
    const db = await createTestDatabase(target, { migrated: false });
    try {
      const handler = migratorHandler(() => db.open({ useNullPool: true }));
      const result = await handler({}, context(900_000));
      expect(result).toEqual({
        applied: migrations.map((m) => m.name),
        status: expect.objectContaining({ applied: migrations.length, pending: 0 }),
        indexes_valid: catalog.length,
      });
      expect(logs.find((l) => l.entry.msg === "migrations complete")?.entry).toMatchObject({
        applied: migrations.length,
        pending: 0,
      });
      // A second deploy finds nothing to do.
      expect((await handler({}, context(900_000))).applied).toEqual([]);
    } finally {
      await db.drop();
    }
  });

  it("throws when a migration fails, so the deploy step fails instead of looking green", async () => {
    const db = await createTestDatabase(target, { migrated: false });
    try {
      // Someone created a table by hand that the schema migration also creates.
      await db.client.use((s) => sql`create table seller (id int)`.execute(s));
      const handler = migratorHandler(() => db.open({ useNullPool: true }));
      await expect(handler({}, context(900_000))).rejects.toThrow(/migration 0001_schema failed: .*seller/);
      expect(logs.some((l) => l.level === "error" && l.entry.msg === "migrations failed")).toBe(true);
      // The failed schema migration rolled back as one transaction: nothing is half-applied.
      expect(await migrationStatus(db.client)).toMatchObject({ applied: 0 });
      const tables = await db.client.use(async (s) => {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from pg_tables where schemaname = current_schema() and tablename = 'user'`.execute(s);
        return rows[0]!.n;
      });
      expect(tables).toBe(0);
    } finally {
      await db.drop();
    }
  });

  it("throws a resumable error when the Lambda is about to time out, and the next invocation finishes", async () => {
    const db = await createTestDatabase(target, { migrated: false });
    try {
      const handler = migratorHandler(() => db.open({ useNullPool: true }));
      // 20 s left is inside the 30 s safety margin: no index build may start.
      await expect(handler({}, context(20_000))).rejects.toThrow(/run the migration again to resume/);
      const result = await handler({}, context(900_000));
      expect(result.applied).toEqual(migrations.slice(1).map((m) => m.name));
      expect(result.indexes_valid).toBe(catalog.length);
    } finally {
      await db.drop();
    }
  });
});
