import { sql } from "kysely";
import * as z from "zod";
import * as Audit from "../audit/index.ts";
import { Handler, HANDLERS } from "../clickout/index.ts";
import { Database } from "../db/index.ts";
import { MERCHANT_STATUSES, PURCHASE_STATUSES, ROW_STATUSES } from "../db/types.ts";
import { iso, QueryBool } from "../ids.ts";
import { safeJsonLoads } from "../json.ts";
import { HOUR_NOW } from "../sweep/index.ts";
import { cursorText, keysetPage, PageQuery, toPage, type Page } from "../pagination.ts";

/**
 * What admins read: the stats dashboard and the fraud and audit trails. Every
 * read is audited in the statement that makes it (one round trip after the
 * session check), from here and nowhere else.
 */

const Since = z.iso.datetime({ offset: true, message: "must be an ISO 8601 timestamp, e.g. 2026-11-01T00:00:00Z" });
const counts = <T extends readonly string[]>(keys: T) => z.object(Object.fromEntries(keys.map((k) => [k, z.number()])) as Record<T[number], z.ZodNumber>);

/** GET /api/admin/stats. */
export const Stats = z.object({
  users: z.number(),
  rows: z.object({ total: z.number(), by_status: counts(ROW_STATUSES) }),
  bids: z.object({ total: z.number(), selected: z.number() }),
  sessions: z.object({ active: z.number() }),
  clickouts_24h: z.object({ total: z.number(), suspicious: z.number(), by_handler: counts(HANDLERS) }),
  purchases: z.object({ by_status: counts(PURCHASE_STATUSES) }),
  merchants: z.object({ by_status: counts(MERCHANT_STATUSES) }),
});
export type Stats = z.infer<typeof Stats>;

type Counts = Record<string, number>;

function fill<T extends readonly string[]>(keys: T, found: Counts | null): Record<T[number], number> {
  return Object.fromEntries(keys.map((k) => [k, found?.[k] ?? 0])) as Record<T[number], number>;
}

const total = (name: string) => sql<number>`(select coalesce(sum(n), 0)::int from c where name = ${sql.lit(name)})`;
const byKey = (name: string) => sql<Counts | null>`(select json_object_agg(key, n) from c where name = ${sql.lit(name)})`;

/**
 * The dashboard's counts in one statement, none of them read from a whole
 * table: the counts the triggers of 0010 keep in stat_delta (a few hundred
 * rows however big the tables), live sessions as the hours of expiry after
 * this one plus this hour's unexpired sessions (ix_auth_session_expires_at),
 * and the last day of clickouts by their time index.
 */
export async function stats(): Promise<Stats> {
  const found = await Database.use((db) =>
    db
      .with("audit", (qc) => Audit.insertFor(qc, null, { action: "admin.stats", success: true }))
      .with("c", (qc) => qc.selectFrom("stat_delta").select(["name", "key", sql<number>`sum(n)`.as("n")]).groupBy(["name", "key"]))
      .selectNoFrom([
        total("user").as("users"),
        byKey("row.status").as("rows"),
        total("bid").as("bids"),
        total("row.selected").as("selected"),
        sql<number>`((select coalesce(sum(n), 0) from c where name = 'session.live' and key > ${HOUR_NOW})
          + (select count(*) from auth_session where revoked_at is null and expires_at > now()
               and expires_at < date_trunc('hour', now(), 'UTC') + interval '1 hour'))::int`.as("sessions"),
        sql<{ total: number; suspicious: number; by_handler: Counts | null }>`(
          select json_build_object('total', coalesce(sum(n), 0), 'suspicious', coalesce(sum(s), 0), 'by_handler', json_object_agg(handler, n))
          from (select handler, count(*)::int as n, count(*) filter (where is_suspicious)::int as s
                from clickout_event where created_at > now() - interval '24 hours' group by handler) c)`.as("clickouts"),
        byKey("purchase.status").as("purchases"),
        byKey("merchant.status").as("merchants"),
      ])
      .executeTakeFirstOrThrow(),
  );
  const byStatus = fill(ROW_STATUSES, found.rows);
  return {
    users: found.users,
    rows: { total: Object.values<number>(byStatus).reduce((a, b) => a + b, 0), by_status: byStatus },
    bids: { total: found.bids, selected: found.selected },
    sessions: { active: found.sessions },
    clickouts_24h: {
      total: found.clickouts.total,
      suspicious: found.clickouts.suspicious,
      by_handler: fill(HANDLERS, found.clickouts.by_handler),
    },
    purchases: { by_status: fill(PURCHASE_STATUSES, found.purchases) },
    merchants: { by_status: fill(MERCHANT_STATUSES, found.merchants) },
  };
}

/** A clickout as the admin list shows it. */
export const Clickout = z.object({
  id: z.number(),
  user_id: z.number(),
  row_id: z.number().nullable(),
  bid_id: z.number().nullable(),
  url: z.string(),
  handler: z.string(),
  is_suspicious: z.boolean(),
  created_at: z.string(),
});
export type Clickout = z.infer<typeof Clickout>;

export const ClickoutQuery = PageQuery.extend({ suspicious: QueryBool.optional(), handler: Handler.optional(), since: Since.optional() });
export type ClickoutQuery = z.infer<typeof ClickoutQuery>;

/** Clickouts of every user, newest first: fraud review by suspicion, handler and time. */
export async function clickouts(query: ClickoutQuery): Promise<Page<Clickout>> {
  const rows = await Database.use((db) =>
    db
      .with("audit", (qc) => Audit.insertFor(qc, null, { action: "admin.clickouts", success: true, details: filters(query) }))
      .selectFrom("clickout_event")
      .select((eb) => [
        "clickout_event.id",
        "clickout_event.user_id",
        "clickout_event.row_id",
        "clickout_event.bid_id",
        "clickout_event.url",
        "clickout_event.handler",
        "clickout_event.is_suspicious",
        "clickout_event.created_at",
        cursorText(eb.ref("clickout_event.created_at")).as("cursor_t"),
      ])
      .$if(query.suspicious !== undefined, (qb) => qb.where("clickout_event.is_suspicious", "=", query.suspicious!))
      .$if(query.handler !== undefined, (qb) => qb.where("clickout_event.handler", "=", query.handler!))
      .$if(query.since !== undefined, (qb) => qb.where("clickout_event.created_at", ">=", sql<Date>`${query.since}::timestamptz`))
      .$call((qb) => keysetPage(qb, "clickout_event", query))
      .execute(),
  );
  return toPage(rows, query.limit, ({ cursor_t: _, created_at, ...c }) => ({ ...c, created_at: iso(created_at) }));
}

/** An audit row as the admin list shows it, details parsed. */
export const AuditEntry = z.object({
  id: z.number(),
  user_id: z.number().nullable(),
  action: z.string(),
  resource_type: z.string().nullable(),
  resource_id: z.string().nullable(),
  success: z.boolean(),
  details: z.unknown(),
  request_id: z.string().nullable(),
  timestamp: z.string(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const AuditQuery = PageQuery.extend({
  action: z.string().trim().min(1).max(100).optional(),
  success: QueryBool.optional(),
  since: Since.optional(),
});
export type AuditQuery = z.infer<typeof AuditQuery>;

/** The audit trail, newest first, by action, outcome and time. */
export async function auditLog(query: AuditQuery): Promise<Page<AuditEntry>> {
  const rows = await Database.use((db) =>
    db
      .with("audit", (qc) => Audit.insertFor(qc, null, { action: "admin.audit_log", success: true, details: filters(query) }))
      .selectFrom("audit_log")
      .select((eb) => [
        "audit_log.id",
        "audit_log.user_id",
        "audit_log.action",
        "audit_log.resource_type",
        "audit_log.resource_id",
        "audit_log.success",
        "audit_log.details",
        "audit_log.request_id",
        "audit_log.timestamp",
        cursorText(eb.ref("audit_log.timestamp")).as("cursor_t"),
      ])
      .$if(query.action !== undefined, (qb) => qb.where("audit_log.action", "=", query.action!))
      .$if(query.success !== undefined, (qb) => qb.where("audit_log.success", "=", query.success!))
      .$if(query.since !== undefined, (qb) => qb.where("audit_log.timestamp", ">=", sql<Date>`${query.since}::timestamptz`))
      .$call((qb) => keysetPage(qb, "audit_log", query))
      .execute(),
  );
  return toPage(rows, query.limit, ({ cursor_t: _, details, timestamp, ...a }) => ({
    ...a,
    details: safeJsonLoads<unknown>(details, { default: null, field: "details" }),
    timestamp: iso(timestamp),
  }));
}

/** A merchant as the admin list shows it. */
export const Merchant = z.object({
  id: z.number(),
  name: z.string(),
  status: z.enum(MERCHANT_STATUSES),
  stripe_onboarding_complete: z.boolean(),
  created_at: z.string(),
});
export type Merchant = z.infer<typeof Merchant>;

export const MerchantQuery = PageQuery.extend({
  status: z.enum(MERCHANT_STATUSES).optional(),
  stripe_onboarding_complete: QueryBool.optional(),
});
export type MerchantQuery = z.infer<typeof MerchantQuery>;

/** Merchants, newest first, by status and Stripe onboarding. */
export async function merchants(query: MerchantQuery): Promise<Page<Merchant>> {
  const rows = await Database.use((db) =>
    db
      .with("audit", (qc) => Audit.insertFor(qc, null, { action: "admin.merchants", success: true, details: filters(query) }))
      .selectFrom("merchant")
      .select((eb) => [
        "merchant.id",
        "merchant.name",
        "merchant.status",
        "merchant.stripe_onboarding_complete",
        "merchant.created_at",
        cursorText(eb.ref("merchant.created_at")).as("cursor_t"),
      ])
      .$if(query.status !== undefined, (qb) => qb.where("merchant.status", "=", query.status!))
      .$if(query.stripe_onboarding_complete !== undefined, (qb) =>
        qb.where("merchant.stripe_onboarding_complete", "=", query.stripe_onboarding_complete!),
      )
      .$call((qb) => keysetPage(qb, "merchant", query))
      .execute(),
  );
  return toPage(rows, query.limit, ({ cursor_t: _, created_at, ...m }) => ({ ...m, created_at: iso(created_at) }));
}

/** The filters of a list query, for its audit row (the cursor and limit say nothing). */
function filters({ cursor: _, limit: __, ...rest }: PageQuery & Record<string, unknown>): Record<string, unknown> {
  return rest;
}
