import { sql, type Selectable } from "kysely";
import * as z from "zod";
import * as Bid from "../bid/shape.ts";
import { Database, prepare } from "../db/index.ts";
import { OUTREACH_STATUSES, ROW_STATUSES, type RowTable } from "../db/types.ts";
import { iso } from "../ids.ts";
import { boundedJson, safeJsonDumps, safeJsonLoads } from "../json.ts";
import { cursorText, flatPage, keysetPage, notFound, PageQuery, pageOf, present, toPage, type FlatPage, type Page } from "../pagination.ts";
import * as Session from "../session/index.ts";

/**
 * Rows: a user's shopping requests. Every query is scoped to the caller
 * (`user_id`), so another user's row is indistinguishable from a missing one.
 */

const Status = z.enum(ROW_STATUSES);
const OutreachStatus = z.enum(OUTREACH_STATUSES);

/** choice_factors: what matters to the shopper, a JSON array; up to 100 go in a list page, so 16 KiB each. */
export const ChoiceFactors = boundedJson(z.array(z.unknown()).max(200), 16 * 1024);
/** chat_history: the conversation so far, a JSON array (large: never read by lists; one row's at a time). */
const ChatHistory = boundedJson(z.array(z.unknown()), 512 * 1024);

const Title = z.string().trim().min(1, "must not be empty").max(500);

/** A row with every column (POST and PATCH answer with this). */
export const Info = z.object({
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
export type Info = z.infer<typeof Info>;

/** A list item: every column but chat_history, plus bid_count. */
export const Summary = Info.omit({ chat_history: true }).extend({ bid_count: z.number() });
export type Summary = z.infer<typeof Summary>;

/** GET /api/rows/{id}: the row, its 20 newest bids with sellers, and the selected bid. */
export const Detail = Info.extend({ bids: z.array(Bid.Info), selected_bid_id: z.number().nullable() });
export type Detail = z.infer<typeof Detail>;

/** How many bids row detail embeds. */
export const DETAIL_BIDS = 20;

export const ListQuery = PageQuery.extend({
  status: Status.optional(),
  outreach_status: OutreachStatus.optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

export const CreateInput = z.strictObject({
  title: Title,
  choice_factors: ChoiceFactors.optional(),
});
export type CreateInput = z.infer<typeof CreateInput>;

export const UpdateInput = z
  .strictObject({
    title: Title.optional(),
    status: Status.optional(),
    outreach_status: OutreachStatus.optional(),
    choice_factors: ChoiceFactors.optional(),
    chat_history: ChatHistory.optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), "at least one field is required");
export type UpdateInput = z.infer<typeof UpdateInput>;

const SUMMARY_COLUMNS = [
  "row.id",
  "row.user_id",
  "row.title",
  "row.status",
  "row.outreach_status",
  "row.choice_factors",
  "row.created_at",
  "row.updated_at",
] as const;

function toSummaryBase(row: Omit<Selectable<RowTable>, "chat_history" | "selected_bid_id" | "bid_count">) {
  return {
    id: row.id,
    user_id: row.user_id,
    title: row.title,
    status: row.status,
    outreach_status: row.outreach_status,
    choice_factors: safeJsonLoads(row.choice_factors, { default: [], field: "choice_factors", schema: ChoiceFactors }),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function toInfo(row: Omit<Selectable<RowTable>, "selected_bid_id" | "bid_count">): Info {
  return {
    ...toSummaryBase(row),
    chat_history: safeJsonLoads(row.chat_history, { default: [], field: "chat_history", schema: ChatHistory }),
  };
}

const listQuery = prepare(
  (db, v: Session.Credential & FlatPage & { status: ListQuery["status"]; outreach_status: ListQuery["outreach_status"] }) =>
    Session.withActor(db, v)
      .selectFrom("actor")
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom("row")
            .select(SUMMARY_COLUMNS)
            .select((r) => ["row.bid_count", cursorText(r.ref("row.created_at")).as("cursor_t")])
            .whereRef("row.user_id", "=", "actor.user_id")
            .$if(v.status !== undefined, (qb) => qb.where("row.status", "=", v.status!))
            .$if(v.outreach_status !== undefined, (qb) => qb.where("row.outreach_status", "=", v.outreach_status!))
            .$call((qb) => keysetPage(qb, "row", pageOf(v)))
            .as("page"),
        (join) => join.onTrue(),
      )
      .select("actor.user_id as actor_id")
      .selectAll("page"),
);

/** The caller's rows, newest first, without chat_history: the session check and the page in one statement. */
export async function list(credential: Session.Credential, query: ListQuery): Promise<Page<Summary>> {
  const rows = await Database.use((db) =>
    listQuery(db, { ...credential, ...flatPage(query), status: query.status, outreach_status: query.outreach_status }),
  );
  Session.actorOf(rows[0]);
  return toPage(present(rows), query.limit, (r) => ({ ...toSummaryBase(r), bid_count: r.bid_count }));
}

/** Creates a row for the caller (status sourcing, outreach not_started). */
export async function create(userId: number, input: CreateInput): Promise<Info> {
  return Database.use(async (db) => {
    const row = await db
      .insertInto("row")
      .values({
        user_id: userId,
        title: input.title,
        choice_factors: safeJsonDumps(input.choice_factors ?? [], { field: "choice_factors", default: "[]" }),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toInfo(row);
  });
}

/**
 * The caller's row with chat_history, its newest bids with sellers and the
 * selected bid: the session check and the read in one statement, whatever the
 * bid count (no N+1).
 */
export async function fromID(credential: Session.Credential, rowId: number): Promise<Detail> {
  const [found] = await Database.use((db) => detailQuery(db, { ...credential, rowId }));
  const [row] = present([Session.actorOf(found)], "selected_bid_id");
  if (!row) throw notFound("row");
  return { ...toInfo(row), bids: row.bids.map(Bid.toInfo), selected_bid_id: row.selected_bid_id };
}

const detailQuery = prepare((db, v: Session.Credential & { rowId: number }) =>
  Session.withActor(db, v)
    .selectFrom("actor")
    .leftJoin("row", (join) => join.on("row.id", "=", v.rowId).onRef("row.user_id", "=", "actor.user_id"))
    .selectAll("row")
    .select((eb) => ["actor.user_id as actor_id", Bid.newestWithSellers(eb, DETAIL_BIDS)]),
);

/** Updates the caller's row; updated_at moves. */
export async function update(userId: number, rowId: number, input: UpdateInput): Promise<Info> {
  return Database.use(async (db) => {
    const row = await db
      .updateTable("row")
      .set({
        ...(input.title !== undefined ? { title: input.title } : {}),
        ...(input.status !== undefined ? { status: input.status } : {}),
        ...(input.outreach_status !== undefined ? { outreach_status: input.outreach_status } : {}),
        ...(input.choice_factors !== undefined
          ? { choice_factors: safeJsonDumps(input.choice_factors, { field: "choice_factors", default: "[]" }) }
          : {}),
        ...(input.chat_history !== undefined
          ? { chat_history: safeJsonDumps(input.chat_history, { field: "chat_history", default: "[]" }) }
          : {}),
        updated_at: sql<Date>`greatest(now(), updated_at + interval '1 microsecond')`,
      })
      .where("id", "=", rowId)
      .where("user_id", "=", userId)
      .returningAll()
      .executeTakeFirst();
    if (!row) throw notFound("row");
    return toInfo(row);
  });
}

/**
 * Deletes the caller's row. Bids, comments, outreach and quotes go by foreign
 * key; share links point at rows polymorphically, so the same statement
 * deletes them.
 */
export async function remove(userId: number, rowId: number): Promise<void> {
  await Database.use(async (db) => {
    const deleted = await db
      .with("gone", (w) => w.deleteFrom("row").where("id", "=", rowId).where("user_id", "=", userId).returning("id"))
      .with("links", (w) =>
        w
          .deleteFrom("share_link")
          .where("resource_type", "=", "row")
          .where("resource_id", "in", (eb) => eb.selectFrom("gone").select("gone.id")),
      )
      .selectFrom("gone")
      .select("gone.id")
      .executeTakeFirst();
    if (!deleted) throw notFound("row");
  });
}
