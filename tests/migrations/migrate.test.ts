import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { Executor } from "@shop/core/db";
import { MigrationIncompleteError } from "@shop/migrations/concurrent-index";
import { catalog, migrations } from "@shop/migrations/migrations/index";
import { migrationNames } from "@shop/migrations/migrations/names";
import {
  migrateDown,
  migrateToLatest,
  migrationStatus,
  verifyIndexes,
} from "@shop/migrations/runner";
import { stopNeonBridge, targets } from "../support/db.ts";
import { recorder, runOptions, withEmptyDatabase } from "../support/migrate.ts";


afterAll(stopNeonBridge);

async function indexValidity(db: Executor, name: string): Promise<boolean | null> {
  const { rows } = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = ${name}`.execute(db);
  return rows[0]?.valid ?? null;
}

async function indexDefinition(db: Executor, name: string): Promise<string> {
  const { rows } = await sql<{ def: string }>`select pg_get_indexdef(${name}::regclass) as def`.execute(db);
  return rows[0]!.def;
}

/** Leaves `name` INVALID the way a failed concurrent build does: a UNIQUE build over duplicate values. */
async function failConcurrentBuild(db: Executor, name: string, table: string, column: string) {
  // Core's error map makes the unique violation a conflict, keeping Postgres's words as its cause.
  await expect(sql.raw(`CREATE UNIQUE INDEX CONCURRENTLY ${name} ON "${table}" (${column})`).execute(db)).rejects.toMatchObject({
    code: "conflict",
    cause: { message: expect.stringMatching(/could not create unique index|duplicate/) },
  });
  expect(await indexValidity(db, name)).toBe(false);
}

async function seedDuplicates(db: Executor) {
  const [user] = await db.insertInto("user").values({ email: "dup@example.com" }).returning("id").execute();
  await db
    .insertInto("row")
    .values([
      { user_id: user!.id, title: "a" },
      { user_id: user!.id, title: "b" },
    ])
    .execute();
}

describe("the list of migrations", () => {
  it("names every migration in names.ts too, in order (GET /health/ready reads only that)", () => {
    expect(migrationNames).toEqual(migrations.map((m) => m.name));
  });
});

describe.each(targets())("migrations on %s", (target) => {
  it("migrates an empty database to the latest schema and every catalog index, valid, by name", async () => {
    await withEmptyDatabase(target, async (db) => {
      expect(await migrationStatus(db.client)).toMatchObject({ applied: 0, pending: migrations.length });
      const result = await migrateToLatest(db.client, runOptions);
      expect(result.applied).toEqual(migrations.map((m) => m.name));
      expect(result.status).toMatchObject({ applied: migrations.length, pending: 0 });
      const report = await verifyIndexes(db.client);
      expect(report).toEqual({ missing: [], invalid: [], valid: catalog.map((s) => s.name) });
      const names = await db.client.use(async (s) => {
        const { rows } = await sql<{ indexname: string }>`
          select indexname from pg_indexes where schemaname = current_schema()`.execute(s);
        return rows.map((r) => r.indexname);
      });
      for (const spec of catalog) expect(names).toContain(spec.name);
    });
  });

  it("is a no-op when run again", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, runOptions);
      const before = await db.client.use((s) => indexDefinition(s, "ix_bid_row_created"));
      const { events, log } = recorder();
      const again = await migrateToLatest(db.client, { ...runOptions, log });
      expect(again.applied).toEqual([]);
      expect(events.filter((e) => e.event === "index_created" || e.event === "index_invalid_dropped")).toEqual([]);
      expect(await db.client.use((s) => indexDefinition(s, "ix_bid_row_created"))).toBe(before);
    });
  });

  it("backs every foreign key with an index that leads with its column", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, runOptions);
      const uncovered = await db.client.use(async (s) => {
        const { rows } = await sql<{ constraint: string }>`
          select c.conname as constraint
          from pg_constraint c
          where c.contype = 'f' and c.connamespace = current_schema()::regnamespace
            and not exists (
              select 1 from pg_index i
              where i.indrelid = c.conrelid and i.indisvalid
                and (i.indkey::int2[])[0:cardinality(c.conkey) - 1] = c.conkey
            )`.execute(s);
        return rows.map((r) => r.constraint);
      });
      expect(uncovered).toEqual([]);
    });
  });

  it("builds an index that an interrupted run left INVALID", async () => {
    await withEmptyDatabase(target, async (db) => {
      // The schema is in, the index run was cut short mid-build of ix_row_status.
      const first = await migrateToLatest(db.client, { ...runOptions, deadline: Date.now() - 1 }).catch((e: unknown) => e);
      expect(first).toBeInstanceOf(MigrationIncompleteError);
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await failConcurrentBuild(s, "ix_row_status", "row", "status");
      });
      expect(await migrationStatus(db.client)).toMatchObject({ applied: 1, pending: 1 });

      const { events, log } = recorder();
      const result = await migrateToLatest(db.client, { ...runOptions, log });
      expect(result.applied).toEqual(["0002_add_performance_indexes"]);
      expect(events).toContainEqual({ event: "index_invalid_dropped", index: "ix_row_status" });
      await db.client.use(async (s) => {
        expect(await indexValidity(s, "ix_row_status")).toBe(true);
        expect(await indexDefinition(s, "ix_row_status")).not.toMatch(/UNIQUE/);
      });
    });
  });

  it("repairs a catalog index left INVALID after its migration was recorded", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, runOptions);
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await sql`drop index ix_row_user_id`.execute(s);
        await failConcurrentBuild(s, "ix_row_user_id", "row", "user_id");
      });
      expect((await verifyIndexes(db.client)).invalid).toEqual(["ix_row_user_id"]);
      const { events, log } = recorder();
      const result = await migrateToLatest(db.client, { ...runOptions, log });
      expect(result.applied).toEqual([]);
      expect(events).toContainEqual({ event: "index_invalid_dropped", index: "ix_row_user_id" });
      expect(await verifyIndexes(db.client)).toMatchObject({ missing: [], invalid: [] });
      expect(await db.client.use((s) => indexDefinition(s, "ix_row_user_id"))).not.toMatch(/UNIQUE/);
    });
  });

  it("stops at the deadline with a resumable error and finishes on the next run", async () => {
    await withEmptyDatabase(target, async (db) => {
      // The schema goes in (one transaction, not interruptible); no index build may start.
      const { events, log } = recorder();
      const err = await migrateToLatest(db.client, { ...runOptions, deadline: Date.now() - 1, log }).catch(
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MigrationIncompleteError);
      expect((err as Error).message).toMatch(/35 of 35 indexes still to build \(next: ix_row_status\); run the migration again/);
      expect(await migrationStatus(db.client)).toMatchObject({ applied: 1, pending: 1 });
      expect(events.some((e) => e.event === "migration_applied" && e.migration === "0001_schema")).toBe(true);

      const result = await migrateToLatest(db.client, runOptions);
      expect(result.applied).toEqual(["0002_add_performance_indexes"]);
      expect(await verifyIndexes(db.client)).toMatchObject({ missing: [], invalid: [] });
    });
  });

  it("rolls back the newest migration with down, and migrates up again", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, runOptions);
      expect(await migrateDown(db.client, runOptions)).toBe("0002_add_performance_indexes");
      expect((await verifyIndexes(db.client)).missing).toHaveLength(catalog.length);
      expect(await migrateDown(db.client, runOptions)).toBe("0001_schema");
      expect(await migrateDown(db.client, runOptions)).toBeNull();
      expect((await migrateToLatest(db.client, runOptions)).applied).toHaveLength(migrations.length);
    });
  });
});

