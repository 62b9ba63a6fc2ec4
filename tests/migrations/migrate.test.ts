import { afterAll, describe, expect, it } from "vitest";
import { sql } from "kysely";
import { catalog, migrations } from "@shop/migrations/migrations/index";
import { migrateToLatest, migrationStatus, verifyIndexes } from "@shop/migrations/runner";
import { createTestDatabase, stopNeonBridge, targets } from "../support/db.ts";

const runOptions = { lockTimeoutMs: 5000, maxAttempts: 3 };

afterAll(stopNeonBridge);

describe.each(targets())("migrations on %s", (target) => {
  it("migrates an empty database to the latest schema and every catalog index", async () => {
    const db = await createTestDatabase(target, { migrated: false });
    try {
      const before = await migrationStatus(db.client);
      expect(before).toMatchObject({ applied: 0, pending: migrations.length });

      const result = await migrateToLatest(db.client, runOptions);
      expect(result.applied).toEqual(migrations.map((m) => m.name));
      expect(result.status).toMatchObject({ applied: migrations.length, pending: 0 });

      const report = await verifyIndexes(db.client);
      expect(report.missing).toEqual([]);
      expect(report.invalid).toEqual([]);
      expect(report.valid).toHaveLength(catalog.length);
    } finally {
      await db.drop();
    }
  });
});
