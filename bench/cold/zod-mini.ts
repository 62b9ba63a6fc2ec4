import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

/**
 * zod-classic.ts's schemas in zod/mini (functions and `.check()` instead of
 * methods), to measure what a conversion would save. zod/mini loads no locale:
 * the English one is configured explicitly, or the 400s' messages would change.
 */

z.config(en());

const bool = (name: string) =>
  z.pipe(
    z.string().check(z.trim()),
    // (zod/mini types a codec's input as unknown; classic's .pipe() accepts it as is)
    z.stringbool({ truthy: ["1", "true", "yes", "on"], falsy: ["0", "false", "no", "off"], error: () => `${name} must be true or false` }) as unknown as z.ZodMiniType<boolean, string>,
  );
const int = (name: string, min: number) =>
  z.pipe(
    z.string(),
    z.transform((raw: string, ctx) => {
      if (!/^-?\d+$/.test(raw.trim()) || Number(raw) < min) {
        ctx.issues.push({ code: "custom", message: `${name} must be an integer >= ${min}`, input: raw });
        return z.NEVER;
      }
      return Number(raw);
    }),
  );
const seconds = (name: string) =>
  z.pipe(
    z.string(),
    z.transform((raw: string, ctx) => {
      const n = Number(raw.trim());
      if (!Number.isFinite(n) || n < 0) {
        ctx.issues.push({ code: "custom", message: `${name} must be a number of seconds`, input: raw });
        return z.NEVER;
      }
      return n;
    }),
  );

const Env = z.object({
  NODE_ENV: z._default(z.enum(["production", "development", "test"]), "development"),
  DATABASE_URL: z.optional(z.string()),
  MIGRATIONS_DATABASE_URL: z.optional(z.string()),
  DB_DRIVER: z._default(z.enum(["auto", "neon", "pg", "pglite"]), "auto"),
  NEON_WS_PROXY: z.optional(z.string()),
  DB_POOL_SIZE: z.optional(int("DB_POOL_SIZE", 1)),
  DB_MAX_OVERFLOW: z.optional(int("DB_MAX_OVERFLOW", 0)),
  DB_POOL_TIMEOUT: z._default(seconds("DB_POOL_TIMEOUT"), 30),
  DB_POOL_RECYCLE: z._default(seconds("DB_POOL_RECYCLE"), 3600),
  DB_POOL_PRE_PING: z._default(bool("DB_POOL_PRE_PING"), true),
  DB_USE_NULL_POOL: z.optional(bool("DB_USE_NULL_POOL")),
  DB_ECHO: z._default(bool("DB_ECHO"), false),
  DB_ENABLE_QUERY_LOGGING: z._default(bool("DB_ENABLE_QUERY_LOGGING"), false),
  DB_SLOW_QUERY_THRESHOLD: z._default(seconds("DB_SLOW_QUERY_THRESHOLD"), 1),
  MIGRATION_LOCK_TIMEOUT: z._default(seconds("MIGRATION_LOCK_TIMEOUT"), 5),
  MIGRATION_MAX_ATTEMPTS: z._default(int("MIGRATION_MAX_ATTEMPTS", 1), 5),
  PORT: z._default(int("PORT", 0).check(z.refine((n: number) => n <= 65535, "PORT must be at most 65535")), 3000),
  AWS_LAMBDA_FUNCTION_NAME: z.optional(z.string()),
});

const Limit = z.pipe(
  z.optional(
    z.pipe(
      z.string().check(z.regex(/^\d+$/, "limit must be a whole number")),
      z.transform(Number).check(z.refine((n: number) => n >= 1 && n <= 100, "limit must be between 1 and 100")),
    ),
  ),
  z.transform((n: number | undefined) => n ?? 20),
);
const CursorShape = z.object({ t: z.string().check(z.regex(/^\d{4}-\d\d-\d\dT/)), id: z.int().check(z.positive()) });
const Cursor = z.optional(
  z.pipe(
    z.string().check(z.maxLength(200)),
    z.transform((raw: string, ctx) => {
      try {
        return CursorShape.parse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
      } catch {
        ctx.issues.push({ code: "custom", message: "cursor is not one this API issued", input: raw });
        return z.NEVER;
      }
    }),
  ),
);
const PageQuery = z.object({ limit: Limit, cursor: Cursor });

const PathId = z.pipe(
  z.string().check(z.regex(/^[1-9]\d*$/, "must be a positive whole number")),
  z.transform(Number).check(z.refine(Number.isSafeInteger, "is out of range")),
);
const BodyId = z.int().check(z.positive(), z.refine(Number.isSafeInteger, "is out of range"));

const SellerInfo = z.object({ id: z.number(), name: z.string(), domain: z.nullable(z.string()) });
const BidInfo = z.object({
  id: z.number(),
  row_id: z.number(),
  seller_id: z.nullable(z.number()),
  seller: z.nullable(SellerInfo),
  title: z.string(),
  price: z.string(),
  currency: z.string(),
  url: z.string(),
  image_url: z.nullable(z.string()),
  source: z.string(),
  is_selected: z.boolean(),
  is_liked: z.boolean(),
  created_at: z.string(),
});

const Status = z.enum(["sourcing", "inviting", "bids_arriving", "reviewing", "selected", "purchased", "closed", "archived"]);
const OutreachStatus = z.enum(["not_started", "in_progress", "completed", "failed"]);
const ChoiceFactors = z.array(z.unknown()).check(z.maxLength(200));
const ChatHistory = z.array(z.unknown());
const Title = z.string().check(z.trim(), z.minLength(1, "must not be empty"), z.maxLength(500));
const Info = z.object({
  id: z.number(),
  user_id: z.number(),
  title: z.string(),
  status: Status,
  outreach_status: OutreachStatus,
  choice_factors: ChoiceFactors,
  chat_history: ChatHistory,
  created_at: z.string(),
  updated_at: z.string(),
});
const Summary = z.extend(z.omit(Info, { chat_history: true }), { bid_count: z.number() });
const Detail = z.extend(Info, { bids: z.array(BidInfo), selected_bid_id: z.nullable(z.number()) });
const ListQuery = z.extend(PageQuery, { status: z.optional(Status), outreach_status: z.optional(OutreachStatus) });
const CreateInput = z.strictObject({ title: Title, choice_factors: z.optional(ChoiceFactors) });
const UpdateInput = z
  .strictObject({
    title: z.optional(Title),
    status: z.optional(Status),
    outreach_status: z.optional(OutreachStatus),
    choice_factors: z.optional(ChoiceFactors),
    chat_history: z.optional(ChatHistory),
  })
  .check(z.refine((v: Record<string, unknown>) => Object.values(v).some((x) => x !== undefined), "at least one field is required"));

const parsed = [
  Env.safeParse({ NODE_ENV: "production", DB_USE_NULL_POOL: "true", DB_POOL_TIMEOUT: "10" }).success,
  ListQuery.safeParse({ limit: "20" }).success,
  [Summary, Detail, CreateInput, UpdateInput, PathId, BodyId].length,
];
Object.assign(globalThis, { zodProbe: parsed });
