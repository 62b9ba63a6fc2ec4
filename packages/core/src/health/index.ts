import { sql } from "kysely";
import * as z from "zod";
import { Database } from "../db/index.ts";

/** The readiness report (GET /health/ready), in the reference `check_db_health()` shape. */
export const Readiness = z.object({
  status: z.enum(["ok", "unavailable"]),
  database: z.object({ reachable: z.boolean(), latency_ms: z.number() }),
  pool: z.object({
    pool_size: z.number(),
    checked_in: z.number(),
    checked_out: z.number(),
    overflow: z.number(),
    pool_class: z.enum(["QueuePool", "NullPool"]),
  }),
  migrations: z.object({ applied: z.number(), pending: z.number() }),
});
/** The report, and why the status is "unavailable" (for the log: the body already says which part failed). */
export type Readiness = z.infer<typeof Readiness> & { reason?: string };

/**
 * Checks the database answers (bounded by DB_POOL_TIMEOUT) and that every
 * migration this build knows is applied, in at most two round trips; the
 * first one's time is the latency. Never throws.
 */
export async function ready(expectedMigrations: readonly string[]): Promise<Readiness> {
  const started = performance.now();
  let latency = 0;
  let failure = "";
  const applied = await Database.use(async (db) => {
    // A database never migrated has no migration table: nothing is applied.
    const { rows: table } = await sql<{ found: boolean }>`select to_regclass('kysely_migration') is not null as found`.execute(db);
    latency = Math.round((performance.now() - started) * 100) / 100;
    if (!table[0]?.found) return 0;
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    const names = new Set(rows.map((r) => r.name));
    return expectedMigrations.filter((m) => names.has(m)).length;
  }).catch((err: unknown) => {
    failure = err instanceof Error ? err.message : String(err);
    return null;
  });
  const reachable = applied !== null;
  const pending = expectedMigrations.length - (applied ?? 0);
  return {
    status: reachable && pending === 0 ? "ok" : "unavailable",
    database: { reachable, latency_ms: reachable ? latency : Math.round((performance.now() - started) * 100) / 100 },
    pool: Database.stats(),
    migrations: { applied: applied ?? 0, pending },
    ...(!reachable ? { reason: `database unreachable: ${failure}` } : pending > 0 ? { reason: `${pending} migration(s) pending` } : {}),
  };
}
