import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import type { IndexEvent } from "@shop/migrations/concurrent-index";
import { migrations } from "@shop/migrations/migrations/index";
import { indexProblems, migrateToLatest, verifyIndexes, type MigrationEvent } from "@shop/migrations/runner";
import { stopNeonBridge, targets, type TestDatabase } from "../support/db.ts";
import { recorder, runOptions, withEmptyDatabase } from "../support/migrate.ts";

/** Migrators racing each other and application sessions holding locks. */


afterAll(stopNeonBridge);

describe.each(targets())("concurrent migrators on %s", (target) => {
  it("lets two migrators started at once both succeed, one after the other", async () => {
    await withEmptyDatabase(target, async (db) => {
      const other = db.open();
      const [a, b] = await Promise.all([migrateToLatest(db.client, runOptions), migrateToLatest(other, runOptions)]);
      expect([...a.applied, ...b.applied].sort()).toEqual(migrations.map((m) => m.name));
      expect(a.applied.length === 0 || b.applied.length === 0).toBe(true);
      expect(a.status).toMatchObject({ applied: migrations.length, pending: 0 });
      expect(b.status).toMatchObject({ applied: migrations.length, pending: 0 });
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  });

});

/** Another session takes a lock on "row" that conflicts with CREATE INDEX CONCURRENTLY, until released. */
async function blockRowTable(db: TestDatabase) {
  const release = Promise.withResolvers<void>();
  const locked = Promise.withResolvers<void>();
  const blocking = db.open().transaction(async (tx) => {
    await sql`lock table "row" in share mode`.execute(tx);
    locked.resolve();
    await release.promise;
  });
  await locked.promise;
  return { release, blocking };
}

describe.each(targets().filter((t) => t !== "pglite"))("migration locking on %s", (target) => {
  it("makes the second migrator wait on the run lock and say who holds it", async () => {
    await withEmptyDatabase(target, async (db) => {
      const holder = db.open();
      const release = Promise.withResolvers<void>();
      const held = Promise.withResolvers<void>();
      const holding = holder.use(async (s) => {
        await sql`select pg_advisory_lock(${0x73686f702d6d6967n})`.execute(s);
        held.resolve();
        await release.promise;
        await sql`select pg_advisory_unlock(${0x73686f702d6d6967n})`.execute(s);
      });
      await held.promise;
      const { events, log } = recorder();
      const running = migrateToLatest(db.client, { ...runOptions, log });
      await expect.poll(() => events.some((e) => e.event === "lock_waiting"), { timeout: 10_000 }).toBe(true);
      const waiting = events.find((e) => e.event === "lock_waiting") as Extract<MigrationEvent, { event: "lock_waiting" }>;
      expect(waiting.holder_pid).toBeTypeOf("number");
      release.resolve();
      await holding;
      const result = await running;
      expect(result.applied).toEqual(migrations.map((m) => m.name));
    });
  });

  it("retries an index build that hits lock_timeout (55P03) and then succeeds", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, { ...runOptions, deadline: Date.now() - 1 }).catch(() => {});
      const { release, blocking } = await blockRowTable(db);
      const events: IndexEvent[] = [];
      const result = await migrateToLatest(db.client, {
        lockTimeoutMs: 100,
        maxAttempts: 5,
        log: (e) => {
          if (e.event.startsWith("index_")) events.push(e as IndexEvent);
          if (e.event === "index_lock_timeout") release.resolve();
        },
      });
      await blocking;
      expect(result.applied).toEqual(migrations.slice(1).map((m) => m.name));
      const timeouts = events.filter((e) => e.event === "index_lock_timeout");
      expect(timeouts[0]).toMatchObject({ index: "ix_row_status", attempt: 1 });
      expect(events).toContainEqual(expect.objectContaining({ event: "index_created", index: "ix_row_status" }));
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  });

  it("gives up after MIGRATION_MAX_ATTEMPTS lock timeouts with the lock error", async () => {
    await withEmptyDatabase(target, async (db) => {
      await migrateToLatest(db.client, { ...runOptions, deadline: Date.now() - 1 }).catch(() => {});
      const { release, blocking } = await blockRowTable(db);
      const err = await migrateToLatest(db.client, { lockTimeoutMs: 50, maxAttempts: 2 }).catch((e: unknown) => e);
      release.resolve();
      await blocking;
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(/0002_add_performance_indexes failed/);
      // Nothing half-done stays behind that a rerun cannot fix.
      const rerun = await migrateToLatest(db.client, runOptions);
      expect(rerun.applied).toEqual(migrations.slice(1).map((m) => m.name));
      expect(indexProblems(await verifyIndexes(db.client))).toEqual([]);
    });
  });
});
