import type { Kysely } from "kysely";
import { applyIndexChanges, inverseOf, type IndexBuildOptions, type IndexChange, type IndexSpec } from "../concurrent-index.ts";
import { indexes as performanceIndexes } from "./0002_add_performance_indexes.ts";

/**
 * 0007_admin_and_sweep_indexes: the rest of 0002's catalog, fitted to the
 * admin lists (keyset on (time, id), newest first, by each filter) and to the
 * scheduled sweeps (each a partial index holding exactly the rows it may
 * touch); what neither reads goes. `where` is written the way pg_get_indexdef
 * prints it. Frozen in time, like every migration.
 */

export const transactional = false;

export const changes: readonly IndexChange[] = [
  // clickout_event: GET /api/admin/clickouts and the stats' last 24 hours
  {
    op: "sharpen",
    name: "ix_clickout_event_created_at",
    table: "clickout_event",
    columns: "created_at, id",
    why: "GET /api/admin/clickouts (unfiltered, ?since=); admin stats' clickouts in the last 24 h",
  },
  {
    op: "sharpen",
    name: "ix_clickout_event_suspicious",
    table: "clickout_event",
    columns: "created_at, id",
    where: "is_suspicious",
    why: "GET /api/admin/clickouts?suspicious=true (fraud review)",
  },
  {
    op: "sharpen",
    name: "ix_clickout_event_handler",
    table: "clickout_event",
    columns: "handler, created_at, id",
    why: "GET /api/admin/clickouts?handler=",
  },
  // audit_log: GET /api/admin/audit-log
  {
    op: "create",
    name: "ix_audit_log_timestamp",
    table: "audit_log",
    columns: '"timestamp", id',
    why: "GET /api/admin/audit-log (unfiltered, ?since=)",
  },
  {
    op: "sharpen",
    name: "ix_audit_log_action_timestamp",
    table: "audit_log",
    columns: 'action, "timestamp", id',
    why: "GET /api/admin/audit-log?action=",
  },
  {
    op: "sharpen",
    name: "ix_audit_log_success",
    table: "audit_log",
    columns: '"timestamp", id',
    where: "(NOT success)",
    why: "GET /api/admin/audit-log?success=false (failed actions)",
  },
  // merchant: GET /api/admin/merchants
  { op: "create", name: "ix_merchant_created", table: "merchant", columns: "created_at, id", why: "GET /api/admin/merchants, unfiltered" },
  { op: "sharpen", name: "ix_merchant_status", table: "merchant", columns: "status, created_at, id", why: "GET /api/admin/merchants?status=" },
  {
    op: "sharpen",
    name: "ix_merchant_stripe_onboarding_complete",
    table: "merchant",
    columns: "stripe_onboarding_complete, created_at, id",
    why: "GET /api/admin/merchants?stripe_onboarding_complete=",
  },
  // auth_session: the cleanup-sessions sweep and the stats' live sessions
  {
    op: "sharpen",
    name: "ix_auth_session_revoked_at",
    table: "auth_session",
    columns: "revoked_at",
    where: "(revoked_at IS NOT NULL)",
    why: "cleanup-sessions: sessions revoked over 30 days ago",
  },
  {
    op: "create",
    name: "ix_auth_session_expires_at",
    table: "auth_session",
    columns: "expires_at",
    why: "cleanup-sessions: sessions expired over 30 days ago (revoked or not)",
  },
  { op: "drop", name: "ix_auth_session_created_at", why: "no query reads sessions by creation time (cleanup goes by expiry)" },
  // outreach_event: the expire-outreach sweep
  {
    op: "sharpen",
    name: "ix_outreach_event_expired_at",
    table: "outreach_event",
    columns: "expired_at",
    where: "(status = ANY (ARRAY['queued'::text, 'sent'::text]))",
    why: "expire-outreach: queued or sent events past expired_at",
  },
  { op: "drop", name: "ix_outreach_event_status", why: "no query reads outreach by status across rows (a row's is ix_outreach_event_row_status)" },
  // seller_quote: the expire-quotes sweep
  {
    op: "sharpen",
    name: "ix_seller_quote_token_expires_at",
    table: "seller_quote",
    columns: "token_expires_at",
    where: "(status = 'pending'::text)",
    why: "expire-quotes: pending quotes past token_expires_at",
  },
  { op: "drop", name: "ix_seller_quote_status", why: "covered for the one query that reads it by ix_seller_quote_token_expires_at" },
  // no route or job reads these
  { op: "drop", name: "ix_purchase_event_created_at", why: "no query reads purchases by time across users" },
  { op: "drop", name: "ix_user_signal_created_at", why: "no query reads signals by time across users" },
];

export async function up(db: Kysely<any>, options: IndexBuildOptions): Promise<void> {
  await applyIndexChanges(db, changes, options);
}

/** Restores 0002's definitions, resumably like up. */
export async function down(db: Kysely<any>, options: IndexBuildOptions): Promise<void> {
  await applyIndexChanges(db, inverseOf(changes, performanceIndexes as readonly IndexSpec[]), options);
}
