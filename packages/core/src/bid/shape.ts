import { sql, type ExpressionBuilder, type Selectable, type ShallowDehydrateObject } from "kysely";
import { jsonArrayFrom, jsonObjectFrom } from "kysely/helpers/postgres";
import * as z from "zod";
import type { BidTable, DB } from "../db/types.ts";
import { isoFromDb } from "../ids.ts";
import * as Seller from "../seller/index.ts";

/** A bid as the API shows it, its seller embedded (null when none). */
export const Info = z.object({
  id: z.number(),
  row_id: z.number(),
  seller_id: z.number().nullable(),
  seller: Seller.Info.nullable(),
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
export type Info = z.infer<typeof Info>;

/** A bid as selected by `columns`: directly, or inside JSON built by Postgres (timestamps as text). */
type Selected = (Selectable<BidTable> | ShallowDehydrateObject<Selectable<BidTable>>) & { seller: Seller.Info | null };

/**
 * The columns of a bid with its seller, for any query over `bid`. The price
 * is cast to text so it stays exact even inside JSON aggregates.
 */
export function columns(eb: ExpressionBuilder<DB, "bid">) {
  return [
    "bid.id",
    "bid.row_id",
    "bid.seller_id",
    "bid.title",
    sql<string>`bid.price::text`.as("price"),
    "bid.currency",
    "bid.url",
    "bid.image_url",
    "bid.source",
    "bid.is_selected",
    "bid.is_liked",
    "bid.created_at",
    jsonObjectFrom(
      eb.selectFrom("seller").select(["seller.id", "seller.name", "seller.domain"]).whereRef("seller.id", "=", "bid.seller_id"),
    ).as("seller"),
  ] as const;
}

export function toInfo(row: Selected): Info {
  return {
    id: row.id,
    row_id: row.row_id,
    seller_id: row.seller_id,
    seller: row.seller,
    title: row.title,
    price: row.price,
    currency: row.currency.trim(),
    url: row.url,
    image_url: row.image_url,
    source: row.source,
    is_selected: row.is_selected,
    is_liked: row.is_liked,
    created_at: isoFromDb(row.created_at),
  };
}

/**
 * For a query over `row`: its `limit` newest bids with sellers, as one JSON
 * array in the same statement (the guide's eager loading: no query per bid).
 */
export function newestWithSellers(eb: ExpressionBuilder<DB, "row">, limit: number) {
  return jsonArrayFrom(
    eb
      .selectFrom("bid")
      .select((b) => columns(b))
      .whereRef("bid.row_id", "=", "row.id")
      .orderBy("bid.created_at", "desc")
      .orderBy("bid.id", "desc")
      .limit(limit),
  ).as("bids");
}
