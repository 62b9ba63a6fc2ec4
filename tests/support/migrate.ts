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
