import * as Purchase from "@shop/core/purchase";
import { PageOf } from "@shop/core/pagination";
import { api, json } from "../lib/api.ts";

/** GET /api/purchases: the caller's purchases, newest first, keyset-paginated. */
export const handler = api({ auth: "user", query: Purchase.ListQuery, responses: { 200: PageOf(Purchase.Info) } }, async ({ actor, query }) =>
  json(200, await Purchase.list(actor.userId, query)),
);
