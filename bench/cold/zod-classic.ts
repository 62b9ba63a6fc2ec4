import * as z from "zod";

/**
 * What zod costs a handler, for the zod/mini decision: the schemas the
 * GET /api/rows bundle builds at import (config's environment, pagination, ids,
 * rows, bids, sellers), written with classic zod as core writes them. The bench
 * bundles this file and its twin (zod-mini.ts, the same schemas in zod/mini) and
 * compares their sizes and import times; core itself is not touched.
 */

const bool = (name: string) =>
  z
    .string()
    .trim()
    .pipe(z.stringbool({ truthy: ["1", "true", "yes", "on"], falsy: ["0", "false", "no", "off"], error: () => `${name} must be true or false` }));
const int = (name: string, min: number) =>
  z.string().transform((raw, ctx) => {
    if (!/^-?\d+$/.test(raw.trim()) || Number(raw) < min) {
      ctx.addIssue({ code: "custom", message: `${name} must be an integer >= ${min}` });
      return z.NEVER;
    }
    return Number(raw);
  });
const seconds = (name: string) =>
  z.string().transform((raw, ctx) => {
    const n = Number(raw.trim());
    if (!Number.isFinite(n) || n < 0) {
      ctx.addIssue({ code: "custom", message: `${name} must be a number of seconds` });
      return z.NEVER;
    }
    return n;
  });

const Env = z.object({
  NODE_ENV: z.enum(["production", "development", "test"]).default("development"),
  DATABASE_URL: z.string().optional(),
  MIGRATIONS_DATABASE_URL: z.string().optional(),
  DB_DRIVER: z.enum(["auto", "neon", "pg", "pglite"]).default("auto"),
  NEON_WS_PROXY: z.string().optional(),
  DB_POOL_SIZE: int("DB_POOL_SIZE", 1).optional(),
  DB_MAX_OVERFLOW: int("DB_MAX_OVERFLOW", 0).optional(),
  DB_POOL_TIMEOUT: seconds("DB_POOL_TIMEOUT").default(30),
  DB_POOL_RECYCLE: seconds("DB_POOL_RECYCLE").default(3600),
  DB_POOL_PRE_PING: bool("DB_POOL_PRE_PING").default(true),
  DB_USE_NULL_POOL: bool("DB_USE_NULL_POOL").optional(),
  DB_ECHO: bool("DB_ECHO").default(false),
  DB_ENABLE_QUERY_LOGGING: bool("DB_ENABLE_QUERY_LOGGING").default(false),
  DB_SLOW_QUERY_THRESHOLD: seconds("DB_SLOW_QUERY_THRESHOLD").default(1),
  MIGRATION_LOCK_TIMEOUT: seconds("MIGRATION_LOCK_TIMEOUT").default(5),
  MIGRATION_MAX_ATTEMPTS: int("MIGRATION_MAX_ATTEMPTS", 1).default(5),
  PORT: int("PORT", 0)
    .refine((n) => n <= 65535, "PORT must be at most 65535")
    .default(3000),
  AWS_LAMBDA_FUNCTION_NAME: z.string().optional(),
});

const Limit = z
  .string()
  .regex(/^\d+$/, "limit must be a whole number")
  .transform(Number)
  .refine((n) => n >= 1 && n <= 100, "limit must be between 1 and 100")
  .optional()
  .transform((n) => n ?? 20);
const CursorShape = z.object({ t: z.string().regex(/^\d{4}-\d\d-\d\dT/), id: z.number().int().positive() });
const Cursor = z
  .string()
  .max(200)
  .transform((raw, ctx) => {
    try {
      return CursorShape.parse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
    } catch {
      ctx.addIssue({ code: "custom", message: "cursor is not one this API issued" });
      return z.NEVER;
    }
  })
  .optional();
const PageQuery = z.object({ limit: Limit, cursor: Cursor });

const PathId = z
  .string()
  .regex(/^[1-9]\d*$/, "must be a positive whole number")
  .transform(Number)
  .refine(Number.isSafeInteger, "is out of range");
const BodyId = z.number().int().positive().refine(Number.isSafeInteger, "is out of range");

const SellerInfo = z.object({ id: z.number(), name: z.string(), domain: z.string().nullable() });
const BidInfo = z.object({
  id: z.number(),
  row_id: z.number(),
  seller_id: z.number().nullable(),
  seller: SellerInfo.nullable(),
  title: z.string(),
  price: z.string(),
  currency: z.string(),
  url: z.string(),
  image_url: z.string().nullable(),
  source: z.string(),
  is_selected: z.boolean(),
  is_liked: z.boolean(),
  created_at: z.string(),
});

const Status = z.enum(["sourcing", "inviting", "bids_arriving", "reviewing", "selected", "purchased", "closed", "archived"]);
const OutreachStatus = z.enum(["not_started", "in_progress", "completed", "failed"]);
const ChoiceFactors = z.array(z.unknown()).max(200);
const ChatHistory = z.array(z.unknown());
const Title = z.string().trim().min(1, "must not be empty").max(500);
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
const Summary = Info.omit({ chat_history: true }).extend({ bid_count: z.number() });
const Detail = Info.extend({ bids: z.array(BidInfo), selected_bid_id: z.number().nullable() });
const ListQuery = PageQuery.extend({ status: Status.optional(), outreach_status: OutreachStatus.optional() });
const CreateInput = z.strictObject({ title: Title, choice_factors: ChoiceFactors.optional() });
const UpdateInput = z
  .strictObject({
    title: Title.optional(),
    status: Status.optional(),
    outreach_status: OutreachStatus.optional(),
    choice_factors: ChoiceFactors.optional(),
    chat_history: ChatHistory.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), "at least one field is required");

// What a cold start does with them: parse the environment and one request's query; keeps every schema in the bundle.
const parsed = [
  Env.safeParse({ NODE_ENV: "production", DB_USE_NULL_POOL: "true", DB_POOL_TIMEOUT: "10" }).success,
  ListQuery.safeParse({ limit: "20" }).success,
  [Summary, Detail, CreateInput, UpdateInput, PathId, BodyId].length,
];
Object.assign(globalThis, { zodProbe: parsed });
