import type { Context } from "aws-lambda";
import { Config } from "@shop/core/config";
import type { DatabaseClient } from "@shop/core/db";
import { Log } from "@shop/core/log";
import { indexProblems, logEvent, migrateToLatest, openMigrationDatabase, runOptionsFrom, verifyIndexes } from "./runner.ts";

/**
 * The migrator Lambda, invoked once per deploy before traffic depends on the
 * schema. It runs the same code as `npm run migrate` and throws on any failure,
 * so the invocation reports a function error and the deploy fails: a migration
 * error must never let a deploy look green.
 *
 * Index builds on big tables can outlast Lambda's 15 minutes. The run stops
 * 30 s before the deadline (a running build is cancelled by statement_timeout
 * and left INVALID); the next run drops and rebuilds it and carries on.
 */

const SAFETY_MARGIN_MS = 30_000;

/** Builds the handler over a way to open the database (tests pass their own). */
export function migratorHandler(open: () => DatabaseClient) {
  return async (_event: unknown, context: Pick<Context, "getRemainingTimeInMillis">) => {
    const deadline = Date.now() + Math.max(0, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS);
    const client = open();
    try {
      const result = await migrateToLatest(client, runOptionsFrom(Config, { deadline, log: logEvent }));
      const report = await verifyIndexes(client);
      const problems = indexProblems(report);
      if (problems.length) throw new Error(`index check failed after migrating: ${problems.join("; ")}`);
      Log.info("migrations complete", {
        newly_applied: result.applied,
        applied: result.status.applied,
        pending: result.status.pending,
        indexes_valid: report.valid.length,
      });
      return { applied: result.applied, status: result.status, indexes_valid: report.valid.length };
    } catch (err) {
      Log.error("migrations failed", { err });
      throw err;
    } finally {
      await client.close();
    }
  };
}

export const handler = migratorHandler(() => openMigrationDatabase(Config));
