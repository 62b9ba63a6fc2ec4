import type { ColumnType, Generated } from "kysely";

/**
 * The Kysely view of every table in schema.md. Table rows never leave core:
 * domain modules map them to their zod `Info` shapes.
 *
 * Drivers parse int8 to number (ids are identity columns, far below 2^53),
 * numeric to string (money stays exact), timestamptz to Date.
 */

/** A timestamp the database fills in unless told otherwise. */
export type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;
/** A nullable timestamp. */
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** A numeric(12,2) money amount: always a decimal string, never a float. */
export type Money = ColumnType<string, string | number, string | number>;
/** A TEXT column holding JSON; read and written only through core's safe JSON helpers. */
export type JsonText = ColumnType<string, string | undefined, string>;
export type NullableJsonText = ColumnType<string | null, string | null | undefined, string | null>;

export const ROW_STATUSES = [
  "sourcing",
  "inviting",
  "bids_arriving",
  "reviewing",
  "selected",
  "purchased",
  "closed",
  "archived",
] as const;
export type RowStatus = (typeof ROW_STATUSES)[number];

export const OUTREACH_STATUSES = ["not_started", "in_progress", "completed", "failed"] as const;
export type OutreachStatus = (typeof OUTREACH_STATUSES)[number];

export const MERCHANT_STATUSES = ["pending", "active", "suspended"] as const;
export type MerchantStatus = (typeof MERCHANT_STATUSES)[number];

export const PURCHASE_STATUSES = ["pending", "completed", "failed", "refunded"] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];

export const OUTREACH_CHANNELS = ["email", "sms", "web"] as const;
export type OutreachChannel = (typeof OUTREACH_CHANNELS)[number];

export const OUTREACH_EVENT_STATUSES = ["queued", "sent", "opened", "responded", "expired"] as const;
export type OutreachEventStatus = (typeof OUTREACH_EVENT_STATUSES)[number];

export const QUOTE_STATUSES = ["pending", "submitted", "expired"] as const;
export type QuoteStatus = (typeof QUOTE_STATUSES)[number];

export const SHARE_RESOURCE_TYPES = ["row"] as const;
export type ShareResourceType = (typeof SHARE_RESOURCE_TYPES)[number];

export interface UserTable {
  id: Generated<number>;
  email: string;
  name: ColumnType<string, string | undefined, string>;
  is_admin: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface AuthSessionTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  revoked_at: NullableTimestamp;
  last_seen_at: NullableTimestamp;
  user_agent: string | null;
}

export interface SellerTable {
  id: Generated<number>;
  name: string;
  domain: string | null;
  created_at: CreatedAt;
}

export interface MerchantTable {
  id: Generated<number>;
  name: string;
  status: ColumnType<MerchantStatus, MerchantStatus | undefined, MerchantStatus>;
  stripe_onboarding_complete: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface RowTable {
  id: Generated<number>;
  user_id: number;
  title: string;
  status: ColumnType<RowStatus, RowStatus | undefined, RowStatus>;
  outreach_status: ColumnType<OutreachStatus, OutreachStatus | undefined, OutreachStatus>;
  choice_factors: JsonText;
  chat_history: JsonText;
  created_at: CreatedAt;
  updated_at: CreatedAt;
}

export interface BidTable {
  id: Generated<number>;
  row_id: number;
  seller_id: number | null;
  title: string;
  price: Money;
  currency: string;
  url: string;
  image_url: string | null;
  source: ColumnType<string, string | undefined, string>;
  is_selected: ColumnType<boolean, boolean | undefined, boolean>;
  is_liked: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface CommentTable {
  id: Generated<number>;
  row_id: number;
  bid_id: number | null;
  user_id: number;
  body: string;
  created_at: CreatedAt;
}

export interface ClickoutEventTable {
  id: Generated<number>;
  user_id: number;
  /** Null once the row or bid is deleted: clickout analytics outlive their rows. */
  row_id: number | null;
  bid_id: number | null;
  url: string;
  handler: string;
  is_suspicious: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
}

export interface PurchaseEventTable {
  id: Generated<number>;
  user_id: number;
  /** Null once the row or bid is deleted: purchases are never lost with their rows. */
  row_id: number | null;
  bid_id: number | null;
  amount: Money;
  currency: string;
  status: ColumnType<PurchaseStatus, PurchaseStatus | undefined, PurchaseStatus>;
  idempotency_key: string | null;
  created_at: CreatedAt;
}

export interface ShareLinkTable {
  id: Generated<number>;
  token: string;
  resource_type: ShareResourceType;
  resource_id: number;
  created_by: number;
  created_at: CreatedAt;
  expires_at: NullableTimestamp;
}

export interface OutreachEventTable {
  id: Generated<number>;
  row_id: number;
  seller_id: number;
  channel: OutreachChannel;
  status: ColumnType<OutreachEventStatus, OutreachEventStatus | undefined, OutreachEventStatus>;
  expired_at: NullableTimestamp;
  created_at: CreatedAt;
}

export interface SellerQuoteTable {
  id: Generated<number>;
  row_id: number;
  seller_id: number;
  token: string;
  token_expires_at: ColumnType<Date, Date | string, Date | string>;
  status: ColumnType<QuoteStatus, QuoteStatus | undefined, QuoteStatus>;
  bid_id: number | null;
  created_at: CreatedAt;
}

export interface UserSignalTable {
  id: Generated<number>;
  user_id: number;
  signal_type: string;
  payload: JsonText;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<number>;
  user_id: number | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  success: boolean;
  details: NullableJsonText;
  request_id: string | null;
  timestamp: CreatedAt;
}

export interface DB {
  user: UserTable;
  auth_session: AuthSessionTable;
  seller: SellerTable;
  merchant: MerchantTable;
  row: RowTable;
  bid: BidTable;
  comment: CommentTable;
  clickout_event: ClickoutEventTable;
  purchase_event: PurchaseEventTable;
  share_link: ShareLinkTable;
  outreach_event: OutreachEventTable;
  seller_quote: SellerQuoteTable;
  user_signal: UserSignalTable;
  audit_log: AuditLogTable;
}
