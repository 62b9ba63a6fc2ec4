import { sql, type Kysely } from "kysely";

/**
 * 0001_schema: every table of the data model, with its constraints, foreign keys and
 * the indexes that back those foreign keys. Frozen in time: it imports nothing
 * from core, and a later schema change is a new migration, never an edit here.
 *
 * Runs in one transaction (tables are new, so plain CREATE INDEX is right here;
 * the performance catalog on possibly-large tables is 0002, built concurrently).
 *
 * Enumerations are text + CHECK rather than Postgres enums: adding a value is a
 * constraint swap, not an `ALTER TYPE` that cannot run in a transaction.
 */

export const transactional = true;

export const statements: readonly string[] = [
  `CREATE TABLE "user" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 320 AND position('@' in email) > 1),
    name text NOT NULL DEFAULT '' CHECK (char_length(name) <= 200),
    is_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  // Case-insensitive uniqueness; lookups use lower(email) and so use this index.
  `CREATE UNIQUE INDEX ux_user_email_lower ON "user" (lower(email))`,

  `CREATE TABLE auth_session (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    token_hash text NOT NULL CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_seen_at timestamptz,
    user_agent text CHECK (char_length(user_agent) <= 1000)
  )`,
  `CREATE INDEX ix_auth_session_user_id ON auth_session (user_id)`,

  `CREATE TABLE seller (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 300),
    domain text CHECK (char_length(domain) <= 253),
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE merchant (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 300),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'suspended')),
    stripe_onboarding_complete boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE "row" (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    status text NOT NULL DEFAULT 'sourcing' CHECK (status IN
      ('sourcing', 'inviting', 'bids_arriving', 'reviewing', 'selected', 'purchased', 'closed', 'archived')),
    outreach_status text NOT NULL DEFAULT 'not_started' CHECK (outreach_status IN
      ('not_started', 'in_progress', 'completed', 'failed')),
    choice_factors text NOT NULL DEFAULT '[]',
    chat_history text NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE bid (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    row_id bigint NOT NULL REFERENCES "row" (id) ON DELETE CASCADE,
    seller_id bigint REFERENCES seller (id) ON DELETE SET NULL,
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    price numeric(12, 2) NOT NULL CHECK (price >= 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    image_url text CHECK (char_length(image_url) <= 2048),
    source text NOT NULL DEFAULT 'search' CHECK (char_length(source) BETWEEN 1 AND 50),
    is_selected boolean NOT NULL DEFAULT false,
    is_liked boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  // A row has at most one selected bid: racing selects cannot both win.
  `CREATE UNIQUE INDEX ux_bid_one_selected_per_row ON bid (row_id) WHERE is_selected`,

  `CREATE TABLE comment (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    row_id bigint NOT NULL REFERENCES "row" (id) ON DELETE CASCADE,
    bid_id bigint REFERENCES bid (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 10000),
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX ix_comment_user_id ON comment (user_id)`,

  // Clickouts and purchases outlive the row and bid they came from (analytics,
  // money): deleting a row nulls their references instead of deleting them.
  `CREATE TABLE clickout_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    row_id bigint REFERENCES "row" (id) ON DELETE SET NULL,
    bid_id bigint REFERENCES bid (id) ON DELETE SET NULL,
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    handler text NOT NULL CHECK (char_length(handler) BETWEEN 1 AND 50),
    is_suspicious boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  // (user_id, created_at) serves both the foreign key and the "clickouts of a
  // user in the last 60 s" count behind is_suspicious.
  `CREATE INDEX ix_clickout_event_user_created ON clickout_event (user_id, created_at)`,
  `CREATE INDEX ix_clickout_event_row_id ON clickout_event (row_id)`,
  `CREATE INDEX ix_clickout_event_bid_id ON clickout_event (bid_id)`,

  `CREATE TABLE purchase_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    row_id bigint REFERENCES "row" (id) ON DELETE SET NULL,
    bid_id bigint REFERENCES bid (id) ON DELETE SET NULL,
    amount numeric(12, 2) NOT NULL CHECK (amount >= 0),
    currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
    idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- NULL keys never clash, so purchases without a key are unconstrained.
    CONSTRAINT uq_purchase_event_user_idempotency_key UNIQUE (user_id, idempotency_key)
  )`,
  `CREATE INDEX ix_purchase_event_user_created ON purchase_event (user_id, created_at)`,
  `CREATE INDEX ix_purchase_event_row_id ON purchase_event (row_id)`,
  `CREATE INDEX ix_purchase_event_bid_id ON purchase_event (bid_id)`,

  `CREATE TABLE share_link (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token text NOT NULL CHECK (char_length(token) BETWEEN 20 AND 200),
    resource_type text NOT NULL CHECK (resource_type IN ('row')),
    resource_id bigint NOT NULL,
    created_by bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    CONSTRAINT uq_share_link_token UNIQUE (token)
  )`,
  `CREATE INDEX ix_share_link_created_by ON share_link (created_by)`,

  `CREATE TABLE outreach_event (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    row_id bigint NOT NULL REFERENCES "row" (id) ON DELETE CASCADE,
    seller_id bigint NOT NULL REFERENCES seller (id) ON DELETE CASCADE,
    channel text NOT NULL CHECK (channel IN ('email', 'sms', 'web')),
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'opened', 'responded', 'expired')),
    expired_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX ix_outreach_event_seller_id ON outreach_event (seller_id)`,

  `CREATE TABLE seller_quote (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    row_id bigint NOT NULL REFERENCES "row" (id) ON DELETE CASCADE,
    seller_id bigint NOT NULL REFERENCES seller (id) ON DELETE CASCADE,
    token text NOT NULL CHECK (char_length(token) BETWEEN 20 AND 200),
    token_expires_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'submitted', 'expired')),
    bid_id bigint REFERENCES bid (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT uq_seller_quote_token UNIQUE (token)
  )`,
  `CREATE INDEX ix_seller_quote_row_id ON seller_quote (row_id)`,
  `CREATE INDEX ix_seller_quote_seller_id ON seller_quote (seller_id)`,
  `CREATE INDEX ix_seller_quote_bid_id ON seller_quote (bid_id)`,

  `CREATE TABLE user_signal (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES "user" (id) ON DELETE CASCADE,
    signal_type text NOT NULL CHECK (char_length(signal_type) BETWEEN 1 AND 100),
    payload text NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
  )`,

  `CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint REFERENCES "user" (id) ON DELETE SET NULL,
    action text NOT NULL CHECK (char_length(action) BETWEEN 1 AND 100),
    resource_type text,
    resource_id text,
    success boolean NOT NULL,
    details text,
    request_id text,
    "timestamp" timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE INDEX ix_audit_log_user_id ON audit_log (user_id)`,
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const statement of statements) {
    await sql.raw(statement).execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    "audit_log",
    "user_signal",
    "seller_quote",
    "outreach_event",
    "share_link",
    "purchase_event",
    "clickout_event",
    "comment",
    "bid",
    '"row"',
    "merchant",
    "seller",
    "auth_session",
    '"user"',
  ]) {
    await sql.raw(`DROP TABLE IF EXISTS ${table}`).execute(db);
  }
}
