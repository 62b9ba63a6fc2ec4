import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { Executor } from "@shop/core/db";
import { definitionOf, readIndexes, tempName, type IndexEvent } from "@shop/migrations/concurrent-index";
import { indexes as performanceIndexes } from "@shop/migrations/migrations/0002_add_performance_indexes";
import * as fitIndexes from "@shop/migrations/migrations/0004_fit_indexes_to_queries";
import { catalog, migrations } from "@shop/migrations/migrations/index";
import {
  indexProblems,
  migrateDown,
  migrateToLatest,
  migrationStatus,
  verifyIndexes,
  type MigrationEvent,
} from "@shop/migrations/runner";
import { createTestDatabase, stopNeonBridge, targets, type TargetName, type TestDatabase } from "../support/db.ts";
import { failConcurrentBuild, indexValidity, recorder, runOptions, seedDuplicates } from "../support/migrate.ts";

/** 0004's sharpens and drops: every state a cut-short run leaves resumes; verify reads the latest catalog. */

afterAll(stopNeonBridge);

const FIT = "0004_fit_indexes_to_queries";
/** The migrations after FIT, rolled back before it and applied again after it. */
const LATER = migrations.map((m) => m.name).slice(migrations.findIndex((m) => m.name === FIT) + 1);
const WANTED = "ON row USING btree (user_id, created_at, id)";

/** A migrated database rolled back to just before 0004: 0004 and later are pending. */
async function withDatabaseBeforeFit(target: TargetName, fn: (db: TestDatabase) => Promise<void>) {
  const db = await createTestDatabase(target);
  try {
    for (const name of [...LATER].reverse()) expect(await migrateDown(db.client, runOptions)).toBe(name);
    expect(await migrateDown(db.client, runOptions)).toBe(FIT);
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** A database at the latest migration. */
async function withMigratedDatabase(target: TargetName, fn: (db: TestDatabase) => Promise<void>) {
  const db = await createTestDatabase(target);
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** The events a run logged about one index (under its name or its temporary one). */
function about(events: MigrationEvent[], index: string) {
  return events.filter(
    (e): e is IndexEvent =>
      e.event.startsWith("index_") && "index" in e && (e.index === index || e.index === tempName(index)),
  );
}

async function definition(db: Executor, name: string) {
  return (await readIndexes(db, [name])).get(name)?.definition ?? null;
}

async function runsClean(db: TestDatabase) {
  const { events, log } = recorder();
  const result = await migrateToLatest(db.client, { ...runOptions, log });
  expect(result.applied).toEqual([FIT, ...LATER]);
  expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
  return events;
}

describe.each(targets())("sharpening and dropping indexes on %s", (target) => {
  // ix_row_user_id is 0004's first change: (user_id) becomes (user_id, created_at, id).
  for (const [cutAfter, left] of [
    ["index_created", ["index_dropped", "index_renamed"]],
    ["index_dropped", ["index_renamed"]],
    ["index_renamed", ["index_exists"]],
  ] as const) {
    it(`resumes a sharpen cut short after ${cutAfter} with only what is left: ${left.join(", ")}`, async () => {
      await withDatabaseBeforeFit(target, async (db) => {
        const cut = migrateToLatest(db.client, {
          ...runOptions,
          log: (e) => {
            if (e.event === cutAfter) throw new Error("killed");
          },
        });
        await expect(cut).rejects.toThrow(/0004_fit_indexes_to_queries failed: killed/);
        expect(await migrationStatus(db.client)).toMatchObject({ pending: 1 + LATER.length });
        const events = await runsClean(db);
        expect(about(events, "ix_row_user_id").map((e) => e.event)).toEqual(left);
        expect(await db.client.use((s) => definition(s, "ix_row_user_id"))).toBe(WANTED);
      });
    });
  }

  it("rebuilds an INVALID leftover under the temporary name, then swaps", async () => {
    await withDatabaseBeforeFit(target, async (db) => {
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await failConcurrentBuild(s, "ix_row_user_id__new", "row", "user_id");
      });
      const events = await runsClean(db);
      expect(about(events, "ix_row_user_id")).toEqual([
        { event: "index_invalid_dropped", index: "ix_row_user_id__new" },
        { event: "index_created", index: "ix_row_user_id__new", ms: expect.any(Number) },
        { event: "index_dropped", index: "ix_row_user_id", ms: expect.any(Number) },
        { event: "index_renamed", index: "ix_row_user_id", from: "ix_row_user_id__new" },
      ]);
    });
  });

  it("finishes a swap whose drop of the old index was interrupted (old INVALID beside the new)", async () => {
    await withDatabaseBeforeFit(target, async (db) => {
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await sql`drop index ix_row_user_id`.execute(s);
        await failConcurrentBuild(s, "ix_row_user_id", "row", "user_id");
        await sql`create index concurrently ix_row_user_id__new on "row" (user_id, created_at, id)`.execute(s);
      });
      const events = await runsClean(db);
      expect(about(events, "ix_row_user_id").map((e) => e.event)).toEqual(["index_invalid_dropped", "index_renamed"]);
    });
  });

  it("leaves an index that already has the wanted definition alone", async () => {
    await withDatabaseBeforeFit(target, async (db) => {
      // Someone built ix_bid_seller_id's new definition by hand already.
      await db.client.use(async (s) => {
        await sql`drop index ix_bid_seller_id`.execute(s);
        await sql`create index ix_bid_seller_id on bid (seller_id, created_at, id)`.execute(s);
      });
      const events = await runsClean(db);
      expect(about(events, "ix_bid_seller_id")).toEqual([{ event: "index_exists", index: "ix_bid_seller_id" }]);
    });
  });

  it("finishes a drop that an interrupted DROP INDEX CONCURRENTLY left INVALID, and skips one already gone", async () => {
    await withDatabaseBeforeFit(target, async (db) => {
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await sql`drop index ix_row_created_at`.execute(s);
        await failConcurrentBuild(s, "ix_row_created_at", "row", "user_id");
        await sql`drop index ix_bid_row_id`.execute(s);
      });
      const events = await runsClean(db);
      expect(about(events, "ix_row_created_at")).toEqual([{ event: "index_invalid_dropped", index: "ix_row_created_at" }]);
      expect(about(events, "ix_bid_row_id")).toEqual([{ event: "index_already_dropped", index: "ix_bid_row_id" }]);
      expect(await db.client.use((s) => indexValidity(s, "ix_row_created_at"))).toBeNull();
    });
  });

  it("stops at the deadline between steps and resumes on the next run", async () => {
    await withDatabaseBeforeFit(target, async (db) => {
      const err = await migrateToLatest(db.client, { ...runOptions, deadline: Date.now() - 1 }).catch((e: unknown) => e);
      expect((err as Error).message).toMatch(
        new RegExp(`${fitIndexes.changes.length} of ${fitIndexes.changes.length} index changes still to apply \\(next: ix_row_user_id\\)`),
      );
      await runsClean(db);
    });
  });

  it("verify reports a wrong definition, a missing index, an invalid one and ones that should be gone", async () => {
    await withMigratedDatabase(target, async (db) => {
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await sql`drop index ix_row_user_id`.execute(s);
        await sql`create index ix_row_user_id on "row" (user_id)`.execute(s);
        await sql`drop index ix_comment_bid_id`.execute(s);
        await sql`drop index ix_row_outreach_status`.execute(s);
        await failConcurrentBuild(s, "ix_row_outreach_status", "row", "user_id");
        await sql`create index ix_bid_row_id on bid (row_id)`.execute(s);
        await sql`create index ix_row_status__new on "row" (user_id, status, created_at, id)`.execute(s);
      });
      const report = await verifyIndexes(db.client);
      expect(report).toMatchObject({
        missing: ["ix_comment_bid_id"],
        invalid: ["ix_row_outreach_status"],
        wrongDefinition: [
          { name: "ix_row_user_id", expected: WANTED, actual: "ON row USING btree (user_id)" },
          {
            name: "ix_row_outreach_status",
            expected: "ON row USING btree (user_id, outreach_status, created_at, id)",
            actual: "UNIQUE ON row USING btree (user_id)",
          },
        ],
        shouldBeGone: ["ix_bid_row_id", "ix_row_status__new"],
      });
      expect(report.valid).toHaveLength(catalog.length - 3);
      expect(indexProblems(report)).toEqual([
        "missing           ix_comment_bid_id",
        "INVALID           ix_row_outreach_status",
        `wrong definition  ix_row_user_id: is "ON row USING btree (user_id)", expected "${WANTED}"`,
        'wrong definition  ix_row_outreach_status: is "UNIQUE ON row USING btree (user_id)", ' +
          'expected "ON row USING btree (user_id, outreach_status, created_at, id)"',
        "should be gone    ix_bid_row_id",
        "should be gone    ix_row_status__new",
      ]);
    });
  });

  it("repairs an INVALID index 0004 dropped or a sharpen left behind by dropping it, not rebuilding it", async () => {
    await withMigratedDatabase(target, async (db) => {
      await db.client.use(async (s) => {
        await seedDuplicates(s);
        await failConcurrentBuild(s, "ix_row_created_at", "row", "user_id");
        await failConcurrentBuild(s, "ix_row_user_id__new", "row", "user_id");
      });
      const { events, log } = recorder();
      expect((await migrateToLatest(db.client, { ...runOptions, log })).applied).toEqual([]);
      const repairs = events.filter((e): e is IndexEvent => e.event.startsWith("index_"));
      expect(repairs.map((e) => e.event)).toEqual(["index_invalid_dropped", "index_invalid_dropped"]);
      expect(repairs.map((e) => e.index).sort()).toEqual(["ix_row_created_at", "ix_row_user_id__new"]);
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  });

  it("down restores 0002's definitions (and 0001's for ix_purchase_event_user_created); up applies 0004 again", async () => {
    await withMigratedDatabase(target, async (db) => {
      for (const name of [...LATER].reverse()) expect(await migrateDown(db.client, runOptions)).toBe(name);
      expect(await migrateDown(db.client, runOptions)).toBe(FIT);
      const before = [
        ...performanceIndexes,
        { name: "ix_purchase_event_user_created", table: "purchase_event", columns: "user_id, created_at", why: "0001" },
      ];
      const created = fitIndexes.changes.filter((c) => c.op === "create").map((c) => c.name);
      const names = [...before.map((s) => s.name), ...created, ...catalog.map((s) => tempName(s.name))];
      const found = await db.client.use((s) => readIndexes(s, names));
      for (const spec of before) expect(found.get(spec.name)).toMatchObject({ valid: true, definition: definitionOf(spec) });
      expect([...found.keys()].filter((n) => created.includes(n) || n.endsWith("__new"))).toEqual([]);
      await runsClean(db);
    });
  }, 180_000); // every later migration down and up again: over a minute on PGlite on a busy machine
});

describe.each(targets().filter((t) => t !== "pglite"))("index swaps under lock contention on %s", (target) => {
  it("keeps the rename behind lock_timeout and retries it until the lock is free", async () => {
    await withDatabaseBeforeFit(target, async (db) => {
      // A run was cut short after dropping the old index: only the rename is left.
      await db.client.use(async (s) => {
        await sql`drop index ix_row_user_id`.execute(s);
        await sql`create index ix_row_user_id__new on "row" (user_id, created_at, id)`.execute(s);
      });
      // REINDEX holds ACCESS EXCLUSIVE on the index, which conflicts with RENAME's SHARE UPDATE EXCLUSIVE.
      const release = Promise.withResolvers<void>();
      const locked = Promise.withResolvers<void>();
      const blocking = db.open().transaction(async (tx) => {
        await sql`reindex index ix_row_user_id__new`.execute(tx);
        locked.resolve();
        await release.promise;
      });
      await locked.promise;
      const { events, log } = recorder();
      const result = await migrateToLatest(db.client, {
        lockTimeoutMs: 100,
        maxAttempts: 5,
        log: (e) => {
          log(e);
          if (e.event === "index_lock_timeout") release.resolve();
        },
      });
      await blocking;
      expect(result.applied).toEqual([FIT, ...LATER]);
      expect(about(events, "ix_row_user_id")).toEqual([
        { event: "index_lock_timeout", index: "ix_row_user_id", attempt: 1, retryInMs: 500 },
        { event: "index_renamed", index: "ix_row_user_id", from: "ix_row_user_id__new" },
      ]);
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  });
});
