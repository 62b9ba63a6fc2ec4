import type { Kysely } from "kysely";
import { applyIndexes, dropIndexes, type IndexBuildOptions, type IndexSpec } from "../concurrent-index.ts";

/**
 * 0002_add_performance_indexes: the index catalog (docs/migrations.md; the reference
 * guide's `add_performance_indexes`), every index under its exact name, built
 * CONCURRENTLY outside any transaction so that tables stay writable while it
 * runs on a live database. Frozen in time like every migration: a later change
 * to an index is a new migration.
 */

export const transactional = false;

export const indexes: readonly IndexSpec[] = [
  // row
  { name: "ix_row_status", table: "row", columns: "status", why: "rows filtered by status" },
  { name: "ix_row_user_id", table: "row", columns: "user_id", why: "a user's rows; backs the row.user_id foreign key" },
  { name: "ix_row_created_at", table: "row", columns: "created_at", why: "time filtering, newest first" },
  { name: "ix_row_outreach_status", table: "row", columns: "outreach_status", why: "outreach filtering" },
  // bid
  { name: "ix_bid_row_id", table: "bid", columns: "row_id", why: "bids of a row; backs the bid.row_id foreign key" },
  { name: "ix_bid_created_at", table: "bid", columns: "created_at", why: "bids by recency" },
  { name: "ix_bid_is_selected", table: "bid", columns: "is_selected", why: "selected bids" },
  { name: "ix_bid_row_selected", table: "bid", columns: "row_id, is_selected", why: "the selected bid of a row" },
  { name: "ix_bid_row_created", table: "bid", columns: "row_id, created_at", why: "recent bids per row" },
  { name: "ix_bid_is_liked", table: "bid", columns: "is_liked", why: "liked bids" },
  { name: "ix_bid_seller_id", table: "bid", columns: "seller_id", why: "a seller's bid history; backs bid.seller_id" },
  // auth_session
  { name: "ix_auth_session_token_hash", table: "auth_session", columns: "token_hash", why: "auth lookup" },
  { name: "ix_auth_session_revoked_at", table: "auth_session", columns: "revoked_at", why: "active-session filtering" },
  {
    name: "ix_auth_session_token_active",
    table: "auth_session",
    columns: "token_hash, revoked_at",
    why: "active session lookup (most critical: every authenticated request)",
  },
  { name: "ix_auth_session_created_at", table: "auth_session", columns: "created_at", why: "session cleanup" },
  // comment
  {
    name: "ix_comment_row_created",
    table: "comment",
    columns: "row_id, created_at",
    why: "a row's comments in order; backs comment.row_id",
  },
  { name: "ix_comment_bid_id", table: "comment", columns: "bid_id", why: "a bid's comments; backs comment.bid_id" },
  // clickout_event
  { name: "ix_clickout_event_created_at", table: "clickout_event", columns: "created_at", why: "analytics by time" },
  { name: "ix_clickout_event_suspicious", table: "clickout_event", columns: "is_suspicious", why: "fraud review" },
  { name: "ix_clickout_event_handler", table: "clickout_event", columns: "handler", why: "handler analysis" },
  // purchase_event
  { name: "ix_purchase_event_created_at", table: "purchase_event", columns: "created_at", why: "purchases by time" },
  { name: "ix_purchase_event_status", table: "purchase_event", columns: "status", why: "purchases by status" },
  // share_link
  { name: "ix_share_link_created_at", table: "share_link", columns: "created_at", why: "recent links" },
  {
    name: "ix_share_link_resource",
    table: "share_link",
    columns: "resource_type, resource_id",
    why: "links of a resource (and their deletion with it)",
  },
  // outreach_event
  { name: "ix_outreach_event_status", table: "outreach_event", columns: "status", why: "outreach by status" },
  { name: "ix_outreach_event_expired_at", table: "outreach_event", columns: "expired_at", why: "expiry sweep" },
  {
    name: "ix_outreach_event_row_status",
    table: "outreach_event",
    columns: "row_id, status",
    why: "a row's outreach by status; backs outreach_event.row_id",
  },
  // seller_quote
  { name: "ix_seller_quote_status", table: "seller_quote", columns: "status", why: "quotes by status" },
  { name: "ix_seller_quote_token_expires_at", table: "seller_quote", columns: "token_expires_at", why: "expiry sweep" },
  // merchant
  { name: "ix_merchant_status", table: "merchant", columns: "status", why: "merchants by status" },
  {
    name: "ix_merchant_stripe_onboarding_complete",
    table: "merchant",
    columns: "stripe_onboarding_complete",
    why: "onboarding review",
  },
  // user_signal
  {
    name: "ix_user_signal_user_type",
    table: "user_signal",
    columns: "user_id, signal_type",
    why: "a user's signals of a type; backs user_signal.user_id",
  },
  { name: "ix_user_signal_created_at", table: "user_signal", columns: "created_at", why: "signals by time" },
  // audit_log
  {
    name: "ix_audit_log_action_timestamp",
    table: "audit_log",
    columns: 'action, "timestamp"',
    why: "audit by action and time",
  },
  { name: "ix_audit_log_success", table: "audit_log", columns: "success", why: "failed actions" },
];

export async function up(db: Kysely<any>, options: IndexBuildOptions): Promise<void> {
  await applyIndexes(db, indexes, options);
}

export async function down(db: Kysely<any>): Promise<void> {
  await dropIndexes(db, indexes);
}
