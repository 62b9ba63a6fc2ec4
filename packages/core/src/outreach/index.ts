import type { Selectable, ShallowDehydrateObject } from "kysely";
import { jsonArrayFrom, jsonObjectFrom } from "kysely/helpers/postgres";
import * as z from "zod";
import { Database } from "../db/index.ts";
import { OUTREACH_CHANNELS, OUTREACH_EVENT_STATUSES, type OutreachEventTable } from "../db/types.ts";
import { isoFromDb } from "../ids.ts";
import { cursorText, keysetPage, notFound, PageQuery, toPage, type Page } from "../pagination.ts";
import * as Seller from "../seller/index.ts";

/**
 * Outreach: the sellers a row's request was sent to, by which channel, and
 * how far each got. Read through the row, so only its owner sees them.
 */

const Status = z.enum(OUTREACH_EVENT_STATUSES);
const Channel = z.enum(OUTREACH_CHANNELS);

/** An outreach event with its seller embedded, as bids embed theirs (never null: seller_id is a required foreign key). */
export const Info = z.object({
  id: z.number(),
  row_id: z.number(),
  seller_id: z.number(),
  seller: Seller.Info,
  channel: Channel,
  status: Status,
  expired_at: z.string().nullable(),
  created_at: z.string(),
});
export type Info = z.infer<typeof Info>;

export const ListQuery = PageQuery.extend({ status: Status.optional() });
export type ListQuery = z.infer<typeof ListQuery>;

/** An event as Postgres builds it inside the page's JSON array (timestamps arrive as text). */
type Selected = ShallowDehydrateObject<Selectable<OutreachEventTable>> & { seller: Seller.Info };

/**
 * The outreach events of the caller's row, newest first: 404 for another
 * user's row. One statement: the row lookup is the ownership check, and the
 * page rides along in it as JSON.
 */
export async function list(userId: number, rowId: number, query: ListQuery): Promise<Page<Info>> {
  return Database.use(async (db) => {
    const row = await db
      .selectFrom("row")
      .select((eb) =>
        jsonArrayFrom(
          eb
            .selectFrom("outreach_event")
            .select((o) => [
              "outreach_event.id",
              "outreach_event.row_id",
              "outreach_event.seller_id",
              "outreach_event.channel",
              "outreach_event.status",
              "outreach_event.expired_at",
              "outreach_event.created_at",
              cursorText(o.ref("outreach_event.created_at")).as("cursor_t"),
              jsonObjectFrom(
                o
                  .selectFrom("seller")
                  .select(["seller.id", "seller.name", "seller.domain"])
                  .whereRef("seller.id", "=", "outreach_event.seller_id"),
              )
                // seller_id is a required foreign key: the subquery always finds its seller.
                .$notNull()
                .as("seller"),
            ])
            .whereRef("outreach_event.row_id", "=", "row.id")
            .$if(query.status !== undefined, (qb) => qb.where("outreach_event.status", "=", query.status!))
            .$call((qb) => keysetPage(qb, "outreach_event", query)),
        ).as("events"),
      )
      .where("row.id", "=", rowId)
      .where("row.user_id", "=", userId)
      .executeTakeFirst();
    if (!row) throw notFound("row");
    return toPage(row.events, query.limit, toInfo);
  });
}

function toInfo(e: Selected): Info {
  return {
    id: e.id,
    row_id: e.row_id,
    seller_id: e.seller_id,
    seller: e.seller,
    channel: e.channel,
    status: e.status,
    expired_at: e.expired_at === null ? null : isoFromDb(e.expired_at),
    created_at: isoFromDb(e.created_at),
  };
}
