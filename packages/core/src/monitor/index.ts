import * as z from "zod";
import * as Audit from "../audit/index.ts";
import { VisibleError } from "../error.ts";
import { activity, blocking, connections } from "./activity.ts";
import { missingIndexes } from "./advisor.ts";
import { duplicateIndexes, indexUsage, invalidIndexes, unusedIndexes } from "./indexes.ts";
import type { Options, Result } from "./report.ts";
import { slowQueries } from "./statements.ts";
import { bloat, cacheHit, sequenceSpace, tableSizes, vacuum } from "./tables.ts";

export type { Options, Result, Row } from "./report.ts";

/**
 * PgHero-style database reports and a Dexter-style index advisor, read from
 * the catalog views and extensions every Postgres has (Neon included), so
 * they work over any DATABASE_URL. The API (GET /api/admin/db/{report}) and
 * `npm run db:report` both run them through `run`.
 */
const REPORTS = {
  activity,
  blocking,
  connections,
  "slow-queries": slowQueries,
  "index-usage": indexUsage,
  "unused-indexes": unusedIndexes,
  "duplicate-indexes": duplicateIndexes,
  "invalid-indexes": invalidIndexes,
  "missing-indexes": missingIndexes,
  "table-sizes": tableSizes,
  "cache-hit": cacheHit,
  bloat,
  vacuum,
  "sequence-space": sequenceSpace,
} satisfies Record<string, (options: Options) => Promise<Result>>;

export type Name = keyof typeof REPORTS;
export const NAMES = Object.keys(REPORTS) as Name[];

/** A report as the API answers it (for the contract): each finding is open-ended, `flagged` always there. */
const Finding = z.looseObject({ flagged: z.boolean() });
export const Report = z.discriminatedUnion("available", [
  z.object({
    report: z.enum(NAMES),
    available: z.literal(true),
    description: z.string(),
    thresholds: z.record(z.string(), z.union([z.number(), z.string()])),
    summary: z.record(z.string(), z.unknown()).optional(),
    rows: z.array(Finding),
    by_mean: z.array(Finding).optional(),
  }),
  z.object({ report: z.enum(NAMES), available: z.literal(false), description: z.string(), reason: z.string(), enable: z.array(z.string()) }),
]);

/** GET /api/admin/db/{report}: the report's name, one of NAMES (anything else is a 400 that lists them). */
export const Path = z.object({
  report: z.enum(NAMES as [Name, ...Name[]], { error: `must be one of the reports: ${NAMES.join(", ")}` }),
});

/** GET /api/admin/db/{report}?threshold=: the report's own threshold in seconds (activity). */
export const Query = z.object({
  threshold: z.coerce.number("must be a number of seconds").positive("must be a number of seconds > 0").optional(),
});
export type Query = z.infer<typeof Query>;

/** Runs one report; an unknown name is a 404 that lists the reports there are. */
export async function run(name: string, options: Options = {}): Promise<Result & { report: string }> {
  if (!Object.hasOwn(REPORTS, name)) {
    throw new VisibleError("not_found", "not_found", `no report named "${name}"; the reports: ${NAMES.join(", ")}`);
  }
  return { report: name, ...(await REPORTS[name as Name](options)) };
}

/** A report for an admin through the API, audited (which report, whether it ran). */
export async function forAdmin(name: string, query: Query): Promise<Result & { report: string }> {
  const result = await run(name, query).catch(async (err: unknown) => {
    await Audit.record({ action: "admin.db_report", success: false, details: { report: name } });
    throw err;
  });
  await Audit.record({ action: "admin.db_report", success: true, details: { report: name } });
  return result;
}
