import { Context } from "../context.ts";
import { Database } from "../db/index.ts";
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
  details?: unknown;
}

/** Records one audit row, tagged with the current request id; never throws. */
export async function record(entry: Entry): Promise<void> {
  const ctx = Context.get();
  await Database.use((db) =>
    db
      .insertInto("audit_log")
      .values({
        user_id: entry.userId ?? ctx?.userId ?? null,
        action: entry.action,
        resource_type: entry.resourceType ?? null,
        resource_id: entry.resourceId === undefined || entry.resourceId === null ? null : String(entry.resourceId),
        success: entry.success,
        details: entry.details === undefined ? null : safeJsonDumps(entry.details, { field: "details" }),
        request_id: ctx?.requestId ?? null,
      })
      .execute(),
  ).catch((err: unknown) => Log.warn("audit write failed", { action: entry.action, err }));
}
