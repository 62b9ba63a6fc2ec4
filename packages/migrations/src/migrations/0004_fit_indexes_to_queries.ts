import type { Kysely } from "kysely";
import { applyIndexChanges, inverseOf, type IndexBuildOptions, type IndexChange, type IndexSpec } from "../concurrent-index.ts";
import { indexes as performanceIndexes } from "./0002_add_performance_indexes.ts";

/**
 * 0004_fit_indexes_to_queries: fits the catalog to the queries the API runs. Every
 * list is keyset-paginated on (created_at, id) for one owner (newest first; comments
 * oldest first), so its index leads with the owner and its filter, then (created_at,
 * id), and delivers the page without a Sort (read backwards for newest first).
 * Sharpened indexes keep their names; indexes no query reads, or that another
 * covers, go. The rest of 0002 stays for the admin routes and scheduled sweeps
 * not built yet.
 *
 * Order matters: an index that covers another is sharpened before the other is dropped.
 * `where` is written the way pg_get_indexdef prints it (a build checks this).
 */

export const transactional = false;

export const changes: readonly IndexChange[] = [
  // row
  {
    op: "sharpen",
    name: "ix_row_user_id",
    table: "row",
    columns: "user_id, created_at, id",
    why: "GET /api/rows: a user's rows, newest first; backs row.user_id",
  },
  {
    op: "sharpen",
    name: "ix_row_status",
    table: "row",
    columns: "user_id, status, created_at, id",
    why: "GET /api/rows?status= (the guide's status = X AND user_id = Y ORDER BY created_at DESC)",
  },
  {
    op: "sharpen",
    name: "ix_row_outreach_status",
    table: "row",
    columns: "user_id, outreach_status, created_at, id",
    why: "GET /api/rows?outreach_status=",
  },
  { op: "drop", name: "ix_row_created_at", why: "no query reads rows by time across users" },
  {
    op: "create",
    name: "ix_row_selected_bid_id",
    table: "row",
    columns: "selected_bid_id",
    where: "(selected_bid_id IS NOT NULL)",
    why: "backs row.selected_bid_id (0003): a deleted bid finds the row that selected it",
  },
  // bid
  {
    op: "sharpen",
    name: "ix_bid_row_created",
    table: "bid",
    columns: "row_id, created_at, id",
    why: "GET /api/rows/{row_id}/bids and the row detail's 20 newest bids; backs bid.row_id",
  },
  {
    op: "sharpen",
    name: "ix_bid_is_liked",
    table: "bid",
    columns: "row_id, created_at, id",
    where: "is_liked",
    why: "GET /api/rows/{row_id}/bids?liked=true",
  },
  {
    op: "sharpen",
    name: "ix_bid_seller_id",
    table: "bid",
    columns: "seller_id, created_at, id",
    why: "GET /api/sellers/{seller_id}/bids; backs bid.seller_id",
  },
  { op: "drop", name: "ix_bid_row_id", why: "a prefix of ix_bid_row_created" },
  {
    op: "drop",
    name: "ix_bid_row_selected",
    why: "0001's ux_bid_one_selected_per_row (row_id) WHERE is_selected finds a row's selected bid",
  },
  {
    op: "drop",
    name: "ix_bid_is_selected",
    why: "ux_bid_one_selected_per_row serves selected bids and their counts",
  },
  { op: "drop", name: "ix_bid_created_at", why: "no query reads bids by time across rows" },
  // comment
  {
    op: "sharpen",
    name: "ix_comment_row_created",
    table: "comment",
    columns: "row_id, created_at, id",
    why: "GET /api/rows/{row_id}/comments, oldest first; backs comment.row_id",
  },
  {
    op: "sharpen",
    name: "ix_comment_bid_id",
    table: "comment",
    columns: "bid_id, created_at, id",
    why: "GET /api/rows/{row_id}/comments?bid_id=; backs comment.bid_id",
  },
  // user_signal
  {
    op: "sharpen",
    name: "ix_user_signal_user_type",
    table: "user_signal",
    columns: "user_id, signal_type, created_at, id",
    why: "GET /api/signals?signal_type=",
  },
  {
    op: "create",
    name: "ix_user_signal_user_created",
    table: "user_signal",
    columns: "user_id, created_at, id",
    why: "GET /api/signals, unfiltered; backs user_signal.user_id",
  },
  // outreach_event
  {
    op: "sharpen",
    name: "ix_outreach_event_row_status",
    table: "outreach_event",
    columns: "row_id, status, created_at, id",
    why: "GET /api/rows/{row_id}/outreach?status=",
  },
  {
    op: "create",
    name: "ix_outreach_event_row_created",
    table: "outreach_event",
    columns: "row_id, created_at, id",
    why: "GET /api/rows/{row_id}/outreach, unfiltered; backs outreach_event.row_id",
  },
  // purchase_event
  {
    op: "sharpen",
    name: "ix_purchase_event_status",
    table: "purchase_event",
    columns: "user_id, status, created_at, id",
    why: "GET /api/purchases?status=",
  },
  {
    op: "sharpen",
    name: "ix_purchase_event_user_created",
    table: "purchase_event",
    columns: "user_id, created_at, id",
    why: "GET /api/purchases; backs purchase_event.user_id (0001 made it (user_id, created_at))",
  },
  // auth_session
  {
    op: "sharpen",
    name: "ix_auth_session_token_active",
    table: "auth_session",
    columns: "token_hash",
    where: "(revoked_at IS NULL)",
    unique: true,
    why: "every authenticated request: token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
  },
  { op: "drop", name: "ix_auth_session_token_hash", why: "covered by ix_auth_session_token_active" },
  // share_link
  { op: "drop", name: "ix_share_link_created_at", why: "no query reads share links by time" },
];

/** The definitions these changes replace: 0002's, and the 0001 index this migration takes over. */
const before: readonly IndexSpec[] = [
  ...performanceIndexes,
  {
    name: "ix_purchase_event_user_created",
    table: "purchase_event",
    columns: "user_id, created_at",
    why: "0001_schema",
  },
];

export async function up(db: Kysely<any>, options: IndexBuildOptions): Promise<void> {
  await applyIndexChanges(db, changes, options);
}

/** Restores 0002's definitions (and 0001's for ix_purchase_event_user_created), resumably like up. */
export async function down(db: Kysely<any>, options: IndexBuildOptions): Promise<void> {
  await applyIndexChanges(db, inverseOf(changes, before), options);
}
