import * as Bid from "@shop/core/bid";
import { PageOf, PageQuery } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";
import { SellerPath } from "../lib/paths.ts";

/** GET /api/sellers/{seller_id}/bids: the seller's bids on the caller's rows (admins: every row). */
export const handler = api({ auth: "user", path: SellerPath, query: PageQuery, responses: { 200: PageOf(Bid.Info) }, errors: [404] }, async ({ actor, path, query }) =>
  json(200, await Bid.listBySeller(actor, path.seller_id, query)),
);
