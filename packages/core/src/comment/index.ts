import { sql, type Selectable, type ShallowDehydrateObject } from "kysely";
import { jsonArrayFrom, jsonObjectFrom } from "kysely/helpers/postgres";
import * as z from "zod";
import { Database } from "../db/index.ts";
import type { CommentTable } from "../db/types.ts";
import { BodyId, isoFromDb, PathId } from "../ids.ts";
import { cursorText, keysetPage, notFound, PageQuery, toPage, type Page } from "../pagination.ts";

/**
 * Comments: the caller's notes on a row, optionally about one of its bids.
 * Reached through the row, so another user's row is a 404 like a missing one.
 * Lists are chronological (oldest first): a conversation reads top to bottom.
 */

export const Info = z.object({
  id: z.number(),
  row_id: z.number(),
  bid_id: z.number().nullable(),
  user_id: z.number(),
  body: z.string(),
  created_at: z.string(),
});
export type Info = z.infer<typeof Info>;

/** The comment text: stored trimmed, so whitespace alone is not a comment. */
const Body = z.string().trim().min(1, "must not be empty").max(10_000);

export const ListQuery = PageQuery.extend({ bid_id: PathId.optional() });
export type ListQuery = z.infer<typeof ListQuery>;

export const CreateInput = z.strictObject({ body: Body, bid_id: BodyId.optional() });
export type CreateInput = z.infer<typeof CreateInput>;

/** Both queries below build the comment as JSON, so its timestamp arrives as text. */
function toInfo(row: ShallowDehydrateObject<Selectable<CommentTable>>): Info {
  return {
    id: row.id,
    row_id: row.row_id,
    bid_id: row.bid_id,
    user_id: row.user_id,
    body: row.body,
    created_at: isoFromDb(row.created_at),
  };
}

/**
 * The comments of the caller's row, oldest first, optionally only those about
 * one bid. One statement: the row lookup carries the page as a JSON array.
 */
export async function list(userId: number, rowId: number, query: ListQuery): Promise<Page<Info>> {
  return Database.use(async (db) => {
    const row = await db
      .selectFrom("row")
      .select((eb) =>
        jsonArrayFrom(
          eb
            .selectFrom("comment")
            .select((c) => [
              "comment.id",
              "comment.row_id",
              "comment.bid_id",
              "comment.user_id",
              "comment.body",
              "comment.created_at",
              cursorText(c.ref("comment.created_at")).as("cursor_t"),
            ])
            .whereRef("comment.row_id", "=", "row.id")
            .$if(query.bid_id !== undefined, (qb) => qb.where("comment.bid_id", "=", query.bid_id!))
            .$call((qb) => keysetPage(qb, "comment", query, "asc")),
        ).as("comments"),
      )
      .where("row.id", "=", rowId)
      .where("row.user_id", "=", userId)
      .executeTakeFirst();
    if (!row) throw notFound("row");
    return toPage(row.comments, query.limit, toInfo);
  });
}

/**
 * Adds the caller's comment to their row. One statement: the insert runs only
 * when the row is the caller's and the bid (if any) is one of its bids, and the
 * row lookup beside it says which of the two was missing.
 */
export async function create(userId: number, rowId: number, input: CreateInput): Promise<Info> {
  const bidId = input.bid_id ?? null;
  return Database.use(async (db) => {
    const result = await db
      .with("owned", (w) =>
        w
          .selectFrom("row")
          .select("row.id")
          .where("row.id", "=", rowId)
          .where("row.user_id", "=", userId),
      )
      .with("added", (w) =>
        w
          .insertInto("comment")
          .columns(["row_id", "bid_id", "user_id", "body"])
          .expression((eb) =>
            eb
              .selectFrom("owned")
              .select([
                "owned.id",
                // Typed casts: untyped parameters in INSERT ... SELECT would arrive as text.
                sql<number | null>`${bidId}::bigint`.as("bid_id"),
                sql<number>`${userId}::bigint`.as("user_id"),
                sql<string>`${input.body}::text`.as("body"),
              ])
              .$if(bidId !== null, (qb) =>
                qb.where((b) =>
                  b.exists(
                    b
                      .selectFrom("bid")
                      .select("bid.id")
                      .where("bid.id", "=", bidId!)
                      .whereRef("bid.row_id", "=", "owned.id"),
                  ),
                ),
              ),
          )
          .returningAll(),
      )
      .selectFrom("owned")
      .select((eb) => jsonObjectFrom(eb.selectFrom("added").selectAll("added")).as("comment"))
      .executeTakeFirst();
    if (!result) throw notFound("row");
    if (!result.comment) throw notFound("bid");
    return toInfo(result.comment);
  });
}
