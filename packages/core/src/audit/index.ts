import { isExpression, sql, type QueryCreator } from "kysely";
import { Context } from "../context.ts";
import { Database, type DB } from "../db/index.ts";
import { safeJsonDumps } from "../json.ts";
import { Log } from "../log.ts";

/**
 * audit_log rows for admin calls and security events (logout, share-link
 * creation, refused admin access), written from core only. Written in the
 * request's scope, so a failed request's transaction takes its audit row with
 * it; a failed audit write never fails the request it describes (it is logged).
 */
export interface Entry {
  action: string;
  success: boolean;
  userId?: number | null;
  resourceType?: string | null;
  resourceId?: string | number | null;
  /** JSON-serialisable details, or SQL (text JSON) reading the rows of the statement that audits itself. */
  details?: unknown;
}

const COLUMNS = ["user_id", "action", "resource_type", "resource_id", "success", "details", "request_id"] as const;

/** One audit row's values as typed SQL (untyped parameters in INSERT ... SELECT would arrive as text). */
function values(entry: Entry) {
  const ctx = Context.get();
  const details = isExpression(entry.details)
    ? entry.details
    : sql`${entry.details === undefined ? null : safeJsonDumps(entry.details, { field: "details" })}`;
  const resourceId = entry.resourceId === undefined || entry.resourceId === null ? null : String(entry.resourceId);
  return [
    sql<number | null>`${entry.userId ?? ctx?.userId ?? null}::bigint`.as("user_id"),
    sql<string>`${entry.action}::text`.as("action"),
    sql<string | null>`${entry.resourceType ?? null}::text`.as("resource_type"),
    sql<string | null>`${resourceId}::text`.as("resource_id"),
    sql<boolean>`${entry.success}::boolean`.as("success"),
    sql<string | null>`${details}::text`.as("details"),
    sql<string | null>`${ctx?.requestId ?? null}::text`.as("request_id"),
  ] as const;
}

/** Records one audit row, tagged with the current request id; never throws. */
export async function record(entry: Entry): Promise<void> {
  await Database.use((db) =>
    db
      .insertInto("audit_log")
      .columns(COLUMNS)
      .expression(db.selectNoFrom(values(entry)))
      .execute(),
  ).catch((err: unknown) => Log.warn("audit write failed", { action: entry.action, err }));
}

/**
 * Audits in the very statement it describes (a CTE of it: no extra round trip):
 * one row per row of `source`, a CTE of that statement, so nothing changed
 * means nothing recorded; without `source`, one row (a read).
 */
export function insertFor(qc: QueryCreator<DB>, source: string | null, entry: Entry) {
  const from = source === null ? qc.selectNoFrom(values(entry)) : qc.selectFrom(sql<object>`${sql.table(source)}`.as(source)).select(values(entry));
  return qc.insertInto("audit_log").columns(COLUMNS).expression(from);
}
