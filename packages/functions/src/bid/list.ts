import * as Bid from "@shop/core/bid";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";
import { RowPath } from "../lib/paths.ts";

/** GET /api/rows/{row_id}/bids: the row's bids with sellers, newest first, keyset-paginated; one statement with the session check. */
export const handler = api({ auth: "credential", path: RowPath, query: Bid.ListQuery, responses: { 200: PageOf(Bid.Info) }, errors: [404] }, async ({ credential, path, query }) =>
  json(200, await Bid.list(credential, path.row_id, query)),
);
