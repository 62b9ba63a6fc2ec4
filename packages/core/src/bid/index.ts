import { sql } from "kysely";
import { jsonArrayFrom, jsonObjectFrom } from "kysely/helpers/postgres";
import * as z from "zod";
import { Database, prepare } from "../db/index.ts";
import { VisibleError } from "../error.ts";
import { QueryBool } from "../ids.ts";
import { cursorText, flatPage, keysetPage, notFound, PageQuery, pageOf, present, toPage, type FlatPage, type Page } from "../pagination.ts";
import * as Session from "../session/index.ts";
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
 * The bids of the caller's row, newest first, with sellers. One statement for
 * the session check, the row's ownership and the page: no result is a 401, no
 * row a 404 (missing or another user's), and a row without bids an empty page.
 */
export async function list(credential: Session.Credential, rowId: number, query: ListQuery): Promise<Page<Info>> {
  const rows = await Database.use((db) =>
    listQuery(db, { ...credential, rowId, ...flatPage(query), liked: query.liked, selected: query.selected }),
  );
  if (Session.actorOf(rows[0]).row_id_found === null) throw notFound("row");
  return toPage(present(rows, "seller_id", "image_url", "seller"), query.limit, toInfo);
}

const listQuery = prepare(
  (db, v: Session.Credential & FlatPage & { rowId: number; liked: boolean | undefined; selected: boolean | undefined }) =>
    Session.withActor(db, v)
      .selectFrom("actor")
      .leftJoin("row", (join) => join.on("row.id", "=", v.rowId).onRef("row.user_id", "=", "actor.user_id"))
      .leftJoinLateral(
        (eb) =>
          eb
            .selectFrom("bid")
            .select((b) => [...columns(b), cursorText(b.ref("bid.created_at")).as("cursor_t")])
            .whereRef("bid.row_id", "=", "row.id")
            .$if(v.liked !== undefined, (qb) => qb.where("bid.is_liked", "=", v.liked!))
            .$if(v.selected !== undefined, (qb) => qb.where("bid.is_selected", "=", v.selected!))
            .$call((qb) => keysetPage(qb, "bid", pageOf(v)))
            .as("page"),
        (join) => join.onTrue(),
      )
      .select(["actor.user_id as actor_id", "row.id as row_id_found"])
      .selectAll("page"),
);

/**
 * Makes this bid the row's one selected bid and moves the row to `selected`,
 * in one statement. The row is locked first; a select that waited there for a
 * racing one reads the row as the winner left it (row.selected_bid_id), so it
 * unselects the winner's bid by id even though its snapshot predates the
 * winner. `chosen` reads `unselected`, which makes Postgres run it first: the
 * partial unique index allows one selected bid per row at every step.
 */
export async function select(userId: number, rowId: number, bidId: number): Promise<Info> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await selectOnce(userId, rowId, bidId);
    } catch (err) {
      // A bid created and selected after this statement's snapshot is invisible to it: once more, with a fresh one.
      if (attempt < 2 && err instanceof VisibleError && err.kind === "conflict") continue;
      throw err;
    }
  }
}

async function selectOnce(userId: number, rowId: number, bidId: number): Promise<Info> {
  const found = await Database.use((db) =>
    db
      .with("target", (qc) =>
        qc
          .selectFrom("row")
          .select((eb) => [
            "row.id as row_id",
            "row.selected_bid_id as previous",
            eb
              .selectFrom("bid")
              .select("bid.id")
              .where("bid.id", "=", bidId)
              .whereRef("bid.row_id", "=", "row.id")
              .as("bid_id"),
          ])
          .where("row.id", "=", rowId)
          .where("row.user_id", "=", userId)
          .forUpdate(),
      )
      .with("unselected", (qc) =>
        qc
          .updateTable("bid")
          .set({ is_selected: false })
          .where("bid.id", "in", (eb) => eb.selectFrom("target").select("target.previous").where("target.bid_id", "is not", null))
          .where("bid.id", "<>", bidId)
          .returning("bid.id"),
      )
      .with("chosen", (qc) =>
        qc
          .updateTable("bid")
          .set({ is_selected: true })
          .where("bid.id", "in", (eb) => eb.selectFrom("target").select("target.bid_id"))
          .where("bid.row_id", "=", rowId)
          .where((eb) => eb(eb.selectFrom("unselected").select((u) => u.fn.countAll<number>().as("n")), ">=", 0))
          .returning((eb) => columns(eb)),
      )
      .with("touched", (qc) =>
        qc
          .updateTable("row")
          .set({
            selected_bid_id: bidId,
            status: "selected",
            updated_at: sql<Date>`greatest(now(), updated_at + interval '1 microsecond')`,
          })
          .where("row.id", "in", (eb) => eb.selectFrom("chosen").select("chosen.row_id")),
      )
      .selectFrom("target")
      .select((eb) => jsonObjectFrom(eb.selectFrom("chosen").selectAll("chosen")).as("bid"))
      .executeTakeFirst(),
  );
  if (!found) throw notFound("row");
  // A bid of another row, or one deleted since (bids can go without their row's lock): nothing changed.
  if (!found.bid) throw notFound("bid");
  return toInfo(found.bid);
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
  actor: Pick<Session.Actor, "userId" | "isAdmin">,
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
