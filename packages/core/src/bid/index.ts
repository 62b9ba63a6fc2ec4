import { sql } from "kysely";
import { jsonArrayFrom } from "kysely/helpers/postgres";
import { z } from "zod";
import { Database } from "../db/index.ts";
import { QueryBool } from "../ids.ts";
import { cursorText, keysetPage, notFound, PageQuery, toPage, type Page } from "../pagination.ts";
import type { Actor } from "../session/index.ts";
import { columns, toInfo, type Info } from "./shape.ts";

export { Info } from "./shape.ts";

/**
 * Bids: sellers' answers to a row. A bid is reached through its row, and a
 * row through its owner, so a bid on another user's row is a 404 like a
 * missing one.
 */

export const ListQuery = PageQuery.extend({
  liked: QueryBool.optional(),
  selected: QueryBool.optional(),
});
export type ListQuery = z.infer<typeof ListQuery>;

export const UpdateInput = z.strictObject({ is_liked: z.boolean() });
export type UpdateInput = z.infer<typeof UpdateInput>;

/**
 * The bids of the caller's row, newest first, with sellers. One statement:
 * the row lookup carries the page as a JSON array, so a missing or foreign
 * row (no result) is told apart from a row without bids (an empty array).
 */
export async function list(userId: number, rowId: number, query: ListQuery): Promise<Page<Info>> {
  return Database.use(async (db) => {
    const row = await db
      .selectFrom("row")
      .select((eb) =>
        jsonArrayFrom(
          eb
            .selectFrom("bid")
            .select((b) => [...columns(b), cursorText(b.ref("bid.created_at")).as("cursor_t")])
            .whereRef("bid.row_id", "=", "row.id")
            .$if(query.liked !== undefined, (qb) => qb.where("bid.is_liked", "=", query.liked!))
            .$if(query.selected !== undefined, (qb) => qb.where("bid.is_selected", "=", query.selected!))
            .$call((qb) => keysetPage(qb, "bid", query)),
        ).as("bids"),
      )
      .where("row.id", "=", rowId)
      .where("row.user_id", "=", userId)
      .executeTakeFirst();
    if (!row) throw notFound("row");
    return toPage(row.bids, query.limit, toInfo);
  });
}

/**
 * Makes this bid the row's one selected bid and moves the row to `selected`,
 * in one transaction. The row lock serializes racing selects: each one
 * unselects whatever the previous winner selected before selecting its own,
 * so the partial unique index never sees two selected bids.
 */
export async function select(userId: number, rowId: number, bidId: number): Promise<Info> {
  return Database.transaction(async (tx) => {
    const locked = await tx
      .selectFrom("row")
      .select((eb) =>
        eb
          .selectFrom("bid")
          .select("bid.id")
          .where("bid.id", "=", bidId)
          .whereRef("bid.row_id", "=", "row.id")
          .as("bid_id"),
      )
      .where("row.id", "=", rowId)
      .where("row.user_id", "=", userId)
      .forUpdate()
      .executeTakeFirst();
    if (!locked) throw notFound("row");
    // Checked before any write: a bid of another row changes nothing.
    if (locked.bid_id === null) throw notFound("bid");

    // A statement of its own, after the lock: its snapshot sees a racing
    // select's committed winner, which a CTE sharing the lock's snapshot would not.
    await tx
      .updateTable("bid")
      .set({ is_selected: false })
      .where("bid.row_id", "=", rowId)
      .where("bid.is_selected", "=", true)
      .where("bid.id", "<>", bidId)
      .execute();

    const bid = await tx
      .updateTable("bid")
      .set({ is_selected: true })
      .where("bid.id", "=", bidId)
      .where("bid.row_id", "=", rowId)
      .returning((eb) => columns(eb))
      .executeTakeFirst();
    // Deleted since the lookup above (bids can go without their row's lock).
    if (!bid) throw notFound("bid");

    await tx
      .updateTable("row")
      .set({ status: "selected", updated_at: sql<Date>`greatest(now(), updated_at + interval '1 microsecond')` })
      .where("row.id", "=", rowId)
      .execute();
    return toInfo(bid);
  });
}

/** Likes or unlikes a bid on one of the caller's rows. */
export async function update(userId: number, bidId: number, input: UpdateInput): Promise<Info> {
  return Database.use(async (db) => {
    const bid = await db
      .updateTable("bid")
      .set({ is_liked: input.is_liked })
      .where("bid.id", "=", bidId)
      .where("bid.row_id", "in", (eb) => eb.selectFrom("row").select("row.id").where("row.user_id", "=", userId))
      .returning((eb) => columns(eb))
      .executeTakeFirst();
    if (!bid) throw notFound("bid");
    return toInfo(bid);
  });
}

/**
 * A seller's bids on the caller's rows (an admin's: on every row), newest
 * first. One statement: the seller lookup carries the page, so an unknown
 * seller is a 404 while a known one with no bids for you is an empty list.
 */
export async function listBySeller(
  actor: Pick<Actor, "userId" | "isAdmin">,
  sellerId: number,
  query: PageQuery,
): Promise<Page<Info>> {
  return Database.use(async (db) => {
    const seller = await db
      .selectFrom("seller")
      .select((eb) =>
        jsonArrayFrom(
          eb
            .selectFrom("bid")
            .select((b) => [...columns(b), cursorText(b.ref("bid.created_at")).as("cursor_t")])
            .whereRef("bid.seller_id", "=", "seller.id")
            .$if(!actor.isAdmin, (qb) =>
              qb.where("bid.row_id", "in", (b) =>
                b.selectFrom("row").select("row.id").where("row.user_id", "=", actor.userId),
              ),
            )
            .$call((qb) => keysetPage(qb, "bid", query)),
        ).as("bids"),
      )
      .where("seller.id", "=", sellerId)
      .executeTakeFirst();
    if (!seller) throw notFound("seller");
    return toPage(seller.bids, query.limit, toInfo);
  });
}
