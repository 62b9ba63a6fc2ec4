import { sql } from "kysely";
import { Database } from "../db/index.ts";
import type { PoolStats } from "../db/pool.ts";

/** The readiness report (GET /health/ready), in the reference `check_db_health()` shape. */
export interface Readiness {
  status: "ok" | "unavailable";
  database: { reachable: boolean; latency_ms: number };
  pool: PoolStats;
  migrations: { applied: number; pending: number };
}

/**
 * Checks the database answers (one round trip, bounded by DB_POOL_TIMEOUT)
 * and that every migration this build knows is applied. Never throws.
 */
export async function ready(expectedMigrations: readonly string[]): Promise<Readiness> {
  const ping = await Database.ping();
  let applied = 0;
  if (ping.reachable) {
    applied = await Database.use(async (db) => {
      // A database never migrated has no migration table: nothing is applied.
      const { rows: table } = await sql<{ found: boolean }>`select to_regclass('kysely_migration') is not null as found`.execute(db);
      if (!table[0]?.found) return 0;
      const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
      const names = new Set(rows.map((r) => r.name));
      return expectedMigrations.filter((m) => names.has(m)).length;
    });
  }
  const pending = expectedMigrations.length - applied;
  return {
    status: ping.reachable && pending === 0 ? "ok" : "unavailable",
    database: { reachable: ping.reachable, latency_ms: ping.latency_ms },
    pool: Database.stats(),
    migrations: { applied, pending },
  };
}
