import { expect } from "vitest";
import { sql } from "kysely";
import type { Executor } from "@shop/core/db";
import type { MigrationEvent, RunOptions } from "@shop/migrations/runner";
import { createTestDatabase, type TargetName, type TestDatabase } from "./db.ts";

/** Migration settings for tests: the defaults, fewer retries. */
export const runOptions: RunOptions = { lockTimeoutMs: 5000, maxAttempts: 3 };

/** Runs `fn` on a fresh, unmigrated database of `target`, dropped afterwards. */
export async function withEmptyDatabase(target: TargetName, fn: (db: TestDatabase) => Promise<void>) {
  const db = await createTestDatabase(target, { migrated: false });
  try {
    await fn(db);
  } finally {
    await db.drop();
  }
}

/** Collects a run's events. */
export function recorder() {
  const events: MigrationEvent[] = [];
  return { events, log: (e: MigrationEvent) => events.push(e) };
}

export async function indexValidity(db: Executor, name: string): Promise<boolean | null> {
  const { rows } = await sql<{ valid: boolean }>`
    select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid where c.relname = ${name}`.execute(db);
  return rows[0]?.valid ?? null;
}

export async function indexDefinition(db: Executor, name: string): Promise<string> {
  const { rows } = await sql<{ def: string }>`select pg_get_indexdef(${name}::regclass) as def`.execute(db);
  return rows[0]!.def;
}

/** Leaves `name` INVALID the way a failed concurrent build does: a UNIQUE build over duplicate values. */
export async function failConcurrentBuild(db: Executor, name: string, table: string, column: string) {
  // Core's error map makes the unique violation a conflict, keeping Postgres's words as its cause.
  await expect(sql.raw(`CREATE UNIQUE INDEX CONCURRENTLY ${name} ON "${table}" (${column})`).execute(db)).rejects.toMatchObject({
    code: "conflict",
    cause: { message: expect.stringMatching(/could not create unique index|duplicate/) },
  });
  expect(await indexValidity(db, name)).toBe(false);
}

/** Two rows of one user: a UNIQUE build on row.user_id (or status) fails over them. */
export async function seedDuplicates(db: Executor) {
  const [user] = await db.insertInto("user").values({ email: "dup@example.com" }).returning("id").execute();
  await db
    .insertInto("row")
    .values([
      { user_id: user!.id, title: "a" },
      { user_id: user!.id, title: "b" },
    ])
    .execute();
}
