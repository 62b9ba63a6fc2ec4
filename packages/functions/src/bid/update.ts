import * as Bid from "@shop/core/bid";
import { api, json } from "../lib/api.ts";
import { BidPath } from "../lib/paths.ts";

/** PATCH /api/bids/{bid_id}: like or unlike a bid on one of the caller's rows. */
export const handler = api({ auth: "user", path: BidPath, body: Bid.UpdateInput, responses: { 200: Bid.Info }, errors: [404] }, async ({ actor, path, body }) =>
  json(200, await Bid.update(actor.userId, path.bid_id, body)),
);
