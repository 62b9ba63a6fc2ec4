import * as Bid from "@shop/core/bid";
import { api, json } from "../lib/api.ts";
import { RowBidPath } from "../lib/paths.ts";

/** POST /api/rows/{row_id}/bids/{bid_id}/select: the row's one selected bid; the row becomes `selected`. */
export const handler = api({ auth: "user", path: RowBidPath, responses: { 200: Bid.Info }, errors: [404] }, async ({ actor, path }) =>
  json(200, await Bid.select(actor.userId, path.row_id, path.bid_id)),
);
