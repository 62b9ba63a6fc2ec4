import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { Executor } from "@shop/core/db";
import { applyIndexChanges, MigrationIncompleteError } from "@shop/migrations/concurrent-index";
import * as fitIndexes from "@shop/migrations/migrations/0004_fit_indexes_to_queries";
import { catalog, droppedIndexes, migrations } from "@shop/migrations/migrations/index";
import { migrationNames } from "@shop/migrations/migrations/names";
import {
  indexProblems,
  migrateDown,
  migrateToLatest,
  migrationStatus,
  verifyIndexes,
} from "@shop/migrations/runner";
import { stopNeonBridge, targets } from "../support/db.ts";
import {
  failConcurrentBuild,
  indexDefinition,
  indexValidity,
  recorder,
  runOptions,
  seedDuplicates,
  withEmptyDatabase,
} from "../support/migrate.ts";

afterAll(stopNeonBridge);

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
      expect(report).toEqual({
        missing: [],
        invalid: [],
        wrongDefinition: [],
        shouldBeGone: [],
        valid: catalog.map((s) => s.name),
      });
      const names = await db.client.use(async (s) => {
        const { rows } = await sql<{ indexname: string }>`
          select indexname from pg_indexes where schemaname = current_schema()`.execute(s);
        return rows.map((r) => r.indexname);
      });
      for (const spec of catalog) expect(names).toContain(spec.name);
      for (const name of droppedIndexes) expect(names).not.toContain(name);
      expect(names.filter((n) => n.endsWith("__new"))).toEqual([]);
    });
  });

  it("is a no-op when run again, and so is applying 0003's changes again", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, runOptions);
      const definitions = (s: Executor) =>
        sql<{ indexname: string; indexdef: string }>`
          select indexname, indexdef from pg_indexes where schemaname = current_schema() order by indexname`
          .execute(s)
          .then((r) => r.rows);
      const before = await db.client.use(definitions);
      const { events, log } = recorder();
      const again = await migrateToLatest(db.client, { ...runOptions, log });
      expect(again.applied).toEqual([]);
      await db.client.use((s) => applyIndexChanges(s, fitIndexes.changes, { ...runOptions, log }), { pinned: true });
      expect(events.map((e) => e.event).filter((e) => e.startsWith("index_"))).toEqual(
        fitIndexes.changes.map((c) => (c.op === "drop" ? "index_already_dropped" : "index_exists")),
      );
      expect(await db.client.use(definitions)).toEqual(before);
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
      expect(await migrationStatus(db.client)).toMatchObject({ applied: 1, pending: migrations.length - 1 });

      const { events, log } = recorder();
      const result = await migrateToLatest(db.client, { ...runOptions, log });
      expect(result.applied).toEqual(migrations.slice(1).map((m) => m.name));
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
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
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
      expect((err as Error).message).toMatch(
        /35 of 35 index changes still to apply \(next: ix_row_status\); run the migration again/,
      );
      expect(await migrationStatus(db.client)).toMatchObject({ applied: 1, pending: migrations.length - 1 });
      expect(events.some((e) => e.event === "migration_applied" && e.migration === "0001_schema")).toBe(true);

      const result = await migrateToLatest(db.client, runOptions);
      expect(result.applied).toEqual(migrations.slice(1).map((m) => m.name));
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  });

  it("rolls back the newest migration with down, one at a time, and migrates up again", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, runOptions);
      for (const m of migrations.slice(1).reverse()) expect(await migrateDown(db.client, runOptions)).toBe(m.name);
      expect((await verifyIndexes(db.client)).missing).toEqual(
        catalog.map((s) => s.name).filter((n) => n !== "ix_purchase_event_user_created"),
      );
      expect(await migrateDown(db.client, runOptions)).toBe("0001_schema");
      expect(await migrateDown(db.client, runOptions)).toBeNull();
      expect((await migrateToLatest(db.client, runOptions)).applied).toHaveLength(migrations.length);
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  }, 180_000); // every migration down and up again: over a minute on PGlite on a busy machine
});
