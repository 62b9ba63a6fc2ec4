import * as Bid from "@shop/core/bid";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}/bids: the row's bids with sellers, newest first, keyset-paginated. */
export const handler = api({ auth: "user", path: RowPath, query: Bid.ListQuery }, async ({ actor, path, query }) =>
  json(200, await Bid.list(actor.userId, path.row_id, query)),
);
