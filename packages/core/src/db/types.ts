import type { ColumnType, Generated } from "kysely";

/**
 * The Kysely view of every table (packages/migrations: 0001_schema). Rows
 * never leave core: domain modules map them to their zod `Info` shapes.
 * Drivers parse int8 to number (ids are identity values, far below 2^53),
 * numeric to string (money stays exact), timestamptz to Date. JSON-shaped
 * columns are TEXT, read and written only through core's safe JSON helpers.
 */

/** A column with a database default: optional on insert. */
type Defaulted<T> = ColumnType<T, T | string | undefined, T | string>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
/** numeric(12,2): always a decimal string, never a float. */
type Money = ColumnType<string, string | number, string | number>;

export const ROW_STATUSES = ["sourcing", "inviting", "bids_arriving", "reviewing", "selected", "purchased", "closed", "archived"] as const;
export const OUTREACH_STATUSES = ["not_started", "in_progress", "completed", "failed"] as const;
export const MERCHANT_STATUSES = ["pending", "active", "suspended"] as const;
export const PURCHASE_STATUSES = ["pending", "completed", "failed", "refunded"] as const;
export const OUTREACH_CHANNELS = ["email", "sms", "web"] as const;
export const OUTREACH_EVENT_STATUSES = ["queued", "sent", "opened", "responded", "expired"] as const;
export const QUOTE_STATUSES = ["pending", "submitted", "expired"] as const;
export const SHARE_RESOURCE_TYPES = ["row"] as const;

type OneOf<T extends readonly string[]> = T[number];

export interface UserTable {
  id: Generated<number>;
  email: string;
  name: Generated<string>;
  is_admin: Generated<boolean>;
  created_at: Defaulted<Date>;
}

interface AuthSessionTable {
  id: Generated<number>;
  user_id: number;
  token_hash: string;
  created_at: Defaulted<Date>;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  last_seen_at: NullableTimestamp;
  user_agent: string | null;
}

interface SellerTable {
  id: Generated<number>;
  name: string;
  domain: string | null;
  created_at: Defaulted<Date>;
}

interface MerchantTable {
  id: Generated<number>;
  name: string;
  status: Generated<OneOf<typeof MERCHANT_STATUSES>>;
  stripe_onboarding_complete: Generated<boolean>;
  created_at: Defaulted<Date>;
}

export interface RowTable {
  id: Generated<number>;
  user_id: number;
  title: string;
  status: Generated<OneOf<typeof ROW_STATUSES>>;
  outreach_status: Generated<OneOf<typeof OUTREACH_STATUSES>>;
  choice_factors: Generated<string>;
  chat_history: Generated<string>;
  /** How many bids the row has, kept by triggers on bid. */
  bid_count: Generated<number>;
  /** The one bid of the row with is_selected (null: none). */
  selected_bid_id: number | null;
  created_at: Defaulted<Date>;
  updated_at: Defaulted<Date>;
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
  source: Generated<string>;
  is_selected: Generated<boolean>;
  is_liked: Generated<boolean>;
  created_at: Defaulted<Date>;
}

export interface CommentTable {
  id: Generated<number>;
  row_id: number;
  bid_id: number | null;
  user_id: number;
  body: string;
  created_at: Defaulted<Date>;
}

/** row_id and bid_id turn null when the row or bid is deleted: clickouts and purchases outlive them. */
interface ClickoutEventTable {
  id: Generated<number>;
  user_id: number;
  row_id: number | null;
  bid_id: number | null;
  url: string;
  handler: string;
  is_suspicious: Generated<boolean>;
  created_at: Defaulted<Date>;
}

export interface PurchaseEventTable {
  id: Generated<number>;
  user_id: number;
  row_id: number | null;
  bid_id: number | null;
  amount: Money;
  currency: string;
  status: Generated<OneOf<typeof PURCHASE_STATUSES>>;
  idempotency_key: string | null;
  created_at: Defaulted<Date>;
}

interface ShareLinkTable {
  id: Generated<number>;
  /** Null since 0009: only token_hash is stored (older rows keep theirs until the column goes). */
  token: string | null;
  /** sha256 hex of the token; set by a trigger when a writer gives `token` instead. */
  token_hash: Generated<string>;
  resource_type: OneOf<typeof SHARE_RESOURCE_TYPES>;
  resource_id: number;
  created_by: number;
  created_at: Defaulted<Date>;
  expires_at: NullableTimestamp;
}

export interface OutreachEventTable {
  id: Generated<number>;
  row_id: number;
  seller_id: number;
  channel: OneOf<typeof OUTREACH_CHANNELS>;
  status: Generated<OneOf<typeof OUTREACH_EVENT_STATUSES>>;
  expired_at: NullableTimestamp;
  created_at: Defaulted<Date>;
}

interface SellerQuoteTable {
  id: Generated<number>;
  row_id: number;
  seller_id: number;
  /** As share_link.token. */
  token: string | null;
  token_hash: Generated<string>;
  token_expires_at: Timestamp;
  status: Generated<OneOf<typeof QUOTE_STATUSES>>;
  bid_id: number | null;
  created_at: Defaulted<Date>;
}

export interface UserSignalTable {
  id: Generated<number>;
  user_id: number;
  signal_type: string;
  payload: Generated<string>;
  created_at: Defaulted<Date>;
}

interface AuditLogTable {
  id: Generated<number>;
  user_id: number | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  success: boolean;
  details: string | null;
  request_id: string | null;
  timestamp: Defaulted<Date>;
}

interface ClickoutWindowTable {
  user_id: number;
  /** The user's clickout times of the last 60 s, newest first, at most 11. */
  recent: Date[];
}

/** A net change of one admin count (0010); a count is the sum of its rows. */
interface StatDeltaTable {
  id: Generated<number>;
  name: string;
  key: string;
  n: number;
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
  clickout_window: ClickoutWindowTable;
  purchase_event: PurchaseEventTable;
  share_link: ShareLinkTable;
  outreach_event: OutreachEventTable;
  seller_quote: SellerQuoteTable;
  user_signal: UserSignalTable;
  audit_log: AuditLogTable;
  stat_delta: StatDeltaTable;
}
