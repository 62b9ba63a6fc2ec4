import * as Bid from "@shop/core/bid";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}/bids: the row's bids with sellers, newest first, keyset-paginated; one statement with the session check. */
export const handler = api({ auth: "credential", path: RowPath, query: Bid.ListQuery }, async ({ credential, path, query }) =>
  json(200, await Bid.list(credential, path.row_id, query)),
);
